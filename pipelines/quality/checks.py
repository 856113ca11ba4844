"""The marts' suites as Dagster asset checks.

Per mart: ``ge_suite`` (blocking: a failure with severity ERROR stops publication in the run) and
``row_count_change`` (WARN, not blocking: the row count against the one recorded by the check's previous
evaluation in Dagster's event log). All marts are checked by one op through one read-only connection and one
great-expectations context: GE costs about a second to start and a connection with its extensions ~0.2 s, so
thirteen ops would pay both thirteen times.

Resource: ``warehouse`` (WarehouseResource). (No ``from __future__ import annotations``: Dagster reads the
``context`` annotation at decoration time.)
"""

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import duckdb
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    DagsterInstance,
    MetadataValue,
    multi_asset_check,
)
from dagster._core.storage.asset_check_execution_record import COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES

from pipelines.home import EXPECTATIONS_DIR
from pipelines.quality.expectations import Finding, validate
from pipelines.quality.suites import Suite, load_suites
from pipelines.resources import WarehouseResource

SUITE_CHECK = "ge_suite"
ROW_COUNT_CHECK = "row_count_change"
ROW_COUNT_BOUNDS = {"max_drop_pct": 50, "max_growth_pct": 300,
                    "description_zh": "行数相对上次检查的变化须在允许范围内（减少不超过50%，增加不超过300%）"}


def plain(value: Any) -> Any:
    """JSON-ready: dates, numpy scalars and the like as text or Python numbers."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=lambda v: v.item() if hasattr(v, "item")
                                 else v.isoformat() if hasattr(v, "isoformat") else str(v)))


def suite_result(key: AssetKey, suite: Suite, findings: list[Finding]) -> AssetCheckResult:
    failed = [f for f in findings if not f.success]
    # a failure is as severe as its worst expectation; a pass says what a failure could have cost
    severity = "ERROR" if any(f.severity == "ERROR" for f in (failed or findings)) else "WARN"
    failing_rows = sum(f.unexpected_count or 0 for f in failed)
    head = (f"检查 {SUITE_CHECK} 于资产 {key.to_user_string()}（{suite.title_zh}）"
            f" check '{SUITE_CHECK}' on asset '{key.to_user_string()}'")
    message = "\n".join([f"{head}: {severity} 未通过 failed, {failing_rows} 行不符 failing rows"]
                        + ["  " + f.summary() for f in failed]) if failed else f"{head}: 通过 passed"
    metadata: dict[str, Any] = {"failing_rows": failing_rows, "expectations": len(findings)}
    if failed:
        metadata["failed_expectations"] = MetadataValue.md("\n".join(f"- {f.summary()}" for f in failed))
        metadata["sample_values"] = MetadataValue.json(plain({f.label: f.samples for f in failed if f.samples}))
    return AssetCheckResult(asset_key=key, check_name=SUITE_CHECK, passed=not failed,
                            severity=AssetCheckSeverity[severity], metadata=metadata,
                            description=message[:2000])


def previous_value(instance: DagsterInstance, check_key: AssetCheckKey, name: str) -> Any:
    """A metadata value of the check's latest completed evaluation in the event log (None before the first)."""
    history = instance.event_log_storage.get_asset_check_execution_history(
        check_key, limit=1, status=set(COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES))
    evaluation = history[0].evaluation if history else None
    value = evaluation.metadata.get(name) if evaluation else None
    return getattr(value, "value", value)


def row_count_result(instance: DagsterInstance, key: AssetKey, suite: Suite, rows: int | None) -> AssetCheckResult:
    bounds = {**ROW_COUNT_BOUNDS, **suite.meta.get("row_count_change", {})}
    previous = previous_value(instance, AssetCheckKey(key, ROW_COUNT_CHECK), "rows")
    change = (rows - previous) / previous * 100 if rows is not None and previous else None
    passed = rows is not None and (change is None or (
        (bounds.get("max_drop_pct") is None or change >= -bounds["max_drop_pct"])
        and (bounds.get("max_growth_pct") is None or change <= bounds["max_growth_pct"])))
    metadata: dict[str, Any] = {"rows": rows, "previous_rows": previous}
    if change is not None:
        metadata["change_pct"] = round(change, 2)
    return AssetCheckResult(asset_key=key, check_name=ROW_COUNT_CHECK, passed=passed,
                            severity=AssetCheckSeverity.WARN, metadata=metadata,
                            description=bounds["description_zh"])


def build_mart_checks(mart_keys: Mapping[str, AssetKey], *,
                      expectations_dir: Path = EXPECTATIONS_DIR / "marts") -> list[AssetChecksDefinition]:
    """The checks of every mart in ``mart_keys`` (name → asset key) that has a suite in ``expectations_dir``."""
    suites = load_suites(expectations_dir)
    marts = {mart: key for mart, key in mart_keys.items() if mart in suites}
    if not marts:
        return []
    specs = []
    for mart, key in marts.items():
        specs.append(AssetCheckSpec(SUITE_CHECK, asset=key, blocking=True,
                                    description=f"great-expectations 套件 {suites[mart].name}：{suites[mart].title_zh}"))
        specs.append(AssetCheckSpec(ROW_COUNT_CHECK, asset=key,
                                    description=(suites[mart].meta.get("row_count_change") or ROW_COUNT_BOUNDS)
                                    ["description_zh"]))

    @multi_asset_check(name="mart_expectations", specs=specs, can_subset=True,
                       description="共享数据集对使用者的承诺（great-expectations 套件）与行数变化。"
                                   " The published datasets' promises (GE suites) and their row-count change.")
    def mart_expectations(context: AssetCheckExecutionContext,
                          warehouse: WarehouseResource) -> Iterator[AssetCheckResult]:
        selected = context.selected_asset_check_keys
        with warehouse.reader(extensions=()) as con:
            for mart, key in marts.items():
                suite = suites[mart]
                if AssetCheckKey(key, SUITE_CHECK) in selected:
                    result = suite_result(key, suite, validate(con, suite))
                    (context.log.info if result.passed else context.log.warning)(result.description)
                    yield result
                if AssetCheckKey(key, ROW_COUNT_CHECK) in selected:
                    try:
                        (rows,) = con.execute(f"SELECT count(*) FROM {suite.table}").fetchone()
                    except duckdb.Error:  # a missing relation is the suite check's finding
                        rows = None
                    yield row_count_result(context.instance, key, suite, rows)

    return [mart_expectations]
