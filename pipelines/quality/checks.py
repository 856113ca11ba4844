"""Dagster asset checks from the suites in ``expectations/`` and the domain checks.

Every check is ``blocking=True``: a failure with severity ERROR stops the assets downstream in the same run
(publication among them), a WARN failure is reported and lets the run go on. Blocking also orders the steps, so
a check's read-only connection is closed before the next writer (ingestion, dbt) opens the warehouse.

Resources: ``warehouse`` (WarehouseResource) and ``home`` (HomeResource).
"""

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MetadataValue,
    multi_asset_check,
)

from pipelines.contracts import FEEDS
from pipelines.home import EXPECTATIONS_DIR
from pipelines.quality.domain import mart_checks, raw_checks
from pipelines.quality.evaluate import AssetChecks, evaluate_asset, reader_for
from pipelines.quality.reports import write_reports
from pipelines.quality.results import CheckOutcome
from pipelines.quality.store import dumps
from pipelines.quality.suites import load_suites
from pipelines.resources import HomeResource, WarehouseResource
from pipelines.transform.project import prepare_dbt_project


def mart_names() -> tuple[str, ...]:
    """The dbt models of schema ``marts``, read from the dbt manifest, so a new mart needs no edit here
    (only its suite in expectations/marts/)."""
    manifest = json.loads(prepare_dbt_project().read_text(encoding="utf-8"))
    return tuple(sorted(node["name"] for node in manifest["nodes"].values()
                        if node["resource_type"] == "model" and node["schema"] == "marts"))


def default_raw_keys() -> dict[str, AssetKey]:
    return {feed: AssetKey(["raw", feed]) for feed in FEEDS}


def default_mart_keys() -> dict[str, AssetKey]:
    return {mart: AssetKey(["marts", mart]) for mart in mart_names()}


def to_check_result(outcome: CheckOutcome) -> AssetCheckResult:
    failed = outcome.failed
    metadata: dict[str, Any] = {
        "failing_rows": outcome.failing_rows,
        "batches_validated": len(outcome.batches_validated),
        "reused": outcome.reused,
    }
    if outcome.batches_total is not None:
        metadata["batches_total"] = outcome.batches_total
    if outcome.batches_validated:
        metadata["batch_keys"] = MetadataValue.json(outcome.batches_validated[:50])
    if failed:
        metadata["failed_expectations"] = MetadataValue.md("\n".join(
            f"- **{f.severity}** `{f.label}` {f.description_zh}: "
            f"{f.unexpected_count if f.unexpected_count is not None else '—'} 行"
            + (" (沿用 carried)" if f.carried else "") + (f" — {f.exception}" if f.exception else "")
            for f in failed))
        metadata["sample_values"] = MetadataValue.json(
            json.loads(dumps({f.label: f.samples for f in failed if f.samples})))
    severity = AssetCheckSeverity.ERROR if outcome.severity == "ERROR" else AssetCheckSeverity.WARN
    return AssetCheckResult(asset_key=AssetKey(list(outcome.asset_key)), check_name=outcome.check,
                            passed=outcome.passed, severity=severity, metadata=metadata,
                            description=outcome.message()[:2000])


def _relation_key(relation: str, raw_keys: Mapping[str, AssetKey],
                  mart_keys: Mapping[str, AssetKey]) -> AssetKey | None:
    schema, name = relation.split(".", 1)
    if schema == "raw":
        return raw_keys.get(name.removesuffix("_current"))
    if schema == "marts":
        return mart_keys.get(name)
    return None


def _asset_checks_definition(checks: AssetChecks, raw_keys: Mapping[str, AssetKey],
                             mart_keys: Mapping[str, AssetKey]) -> AssetChecksDefinition:
    """One op per asset runs all of the asset's checks through one read-only connection (a DuckDB connection
    with its extensions costs ~0.2 s; forty checks would pay it forty times)."""
    key = AssetKey(list(checks.asset_key))
    suite = checks.suite
    specs = [
        AssetCheckSpec("ge_suite", asset=key, blocking=True,
                       description=f"great-expectations 套件 {suite.name}：{suite.title_zh}"),
        AssetCheckSpec("row_count_change", asset=key, blocking=True,
                       description="行数相对上次运行的变化须在允许范围内 (row count change between runs)"),
    ]
    for dc in checks.domain:
        deps = {k for k in (_relation_key(r, raw_keys, mart_keys) for r in dc.reads) if k and k != key}
        specs.append(AssetCheckSpec(dc.name, asset=key, blocking=True,
                                    description=f"[{dc.severity}] {dc.description_zh}",
                                    additional_deps=sorted(deps, key=str) or None))

    @multi_asset_check(name=f"quality__{'__'.join(checks.asset_key)}", specs=specs, can_subset=True,
                       description=f"数据质量检查：{suite.title_zh}")
    def _checks(context: AssetCheckExecutionContext, warehouse: WarehouseResource,
                home: HomeResource) -> Iterator[AssetCheckResult]:
        selected = [k.name for k in context.selected_asset_check_keys]
        outcomes = evaluate_asset(home.home, reader_for(warehouse), checks, run_id=context.run.run_id,
                                  selected=selected)
        if any(o.blocking_failed for o in outcomes):
            # publication (which writes the reports) will not run: the summary must show why. The data docs
            # (seconds to render) follow with the next publication or `write_reports`.
            write_reports(home.home, reader_for(warehouse), data_docs=False)
        for outcome in outcomes:
            (context.log.info if outcome.passed else context.log.warning)(outcome.message())
            yield to_check_result(outcome)

    return _checks


def _keys(given: Any, default: dict[str, AssetKey]) -> dict[str, AssetKey]:
    """``None`` → the defaults; a mapping name → AssetKey as given; a mapping or iterable of names (e.g. the
    contracts dict) → those names with their default keys."""
    if given is None:
        return default
    if isinstance(given, Mapping) and all(isinstance(v, AssetKey) for v in given.values()):
        return dict(given)
    return {name: AssetKey([*next(iter(default.values())).path[:-1], name]) for name in given}


def build_quality_checks(raw: Any = None, marts: Any = None, *,
                         expectations_dir: Path = EXPECTATIONS_DIR) -> list[AssetChecksDefinition]:
    """Asset checks for the raw feeds and the marts: one multi-check per asset (its GE suite, its row-count
    change and its domain checks), every check blocking.

    ``raw`` / ``marts``: a mapping name → AssetKey, or names (the contracts dict works), or ``None`` for all with
    the default keys ``["raw", feed]`` / ``["marts", mart]``; ``{}`` skips a layer. A feed or mart without a suite
    in ``expectations_dir`` gets no checks. Checks that read another relation declare its asset as a dependency."""
    raw_keys = _keys(raw, default_raw_keys())
    mart_keys = _keys(marts, default_mart_keys())
    raw_suites, mart_suites = load_suites("raw", expectations_dir), load_suites("marts", expectations_dir)
    checks: list[AssetChecksDefinition] = []
    raw_domain = raw_checks()
    for feed, key in raw_keys.items():
        if feed in raw_suites:
            domain = [c for c in raw_domain if c.target == f"raw.{feed}"
                      and all(_relation_key(r, raw_keys, {}) for r in c.reads)]
            checks.append(_asset_checks_definition(AssetChecks(tuple(key.path), raw_suites[feed], domain),
                                                   raw_keys, mart_keys))
    present = {m for m in mart_keys if m in mart_suites}
    mart_domain = mart_checks(present)
    for mart, key in mart_keys.items():
        if mart in mart_suites:
            domain = [c for c in mart_domain if c.target == f"marts.{mart}"]
            checks.append(_asset_checks_definition(AssetChecks(tuple(key.path), mart_suites[mart], domain),
                                                   raw_keys, mart_keys))
    return checks


def blocking_check_ids(checks: list[AssetChecksDefinition]) -> list[str]:
    """``asset:check`` ids of the given checks (all are blocking), as the quality store names them."""
    return sorted(f"{'/'.join(k.asset_key.path)}:{k.name}" for c in checks for k in c.check_keys)
