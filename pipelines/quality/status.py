"""Check results as Dagster records them: the latest evaluation of each asset check, read from the instance.

Dagster stops publication in a run when a blocking check upstream fails with ERROR. Publication materialized on
its own (from the UI, or a later run that selects it alone) has no such run-time guard, so it reads the same
results back from the event log: every blocking check upstream must have a latest evaluation that did not fail
with ERROR and that is not older than its asset's latest materialization (data no check has looked at is not
published). The same records fill ``meta.quality_status`` in the published copy.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from dagster import AssetKey, DagsterInstance
from dagster._core.storage.asset_check_execution_record import COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES

STATUS_COLUMNS = ("asset", "check_name", "severity", "passed", "description", "evaluated_at", "run_id")


@dataclass(frozen=True)
class CheckStatus:
    asset: str
    check_name: str
    severity: str                   # ERROR blocks publication when the check is blocking; WARN is reported
    passed: bool | None             # None: never evaluated
    description: str
    evaluated_at: dt.datetime | None
    run_id: str | None
    blocking: bool
    stale: bool = False             # the asset was materialized again after this evaluation
    failing_rows: Any = None
    samples: Any = None

    @property
    def blocks(self) -> bool:
        return self.blocking and (self.passed is None or self.stale
                                  or (not self.passed and self.severity == "ERROR"))

    def row(self) -> tuple:
        return tuple(getattr(self, c) for c in STATUS_COLUMNS)

    def line(self) -> str:
        if self.passed is None:
            why = "从未执行 never evaluated"
        elif self.stale:
            why = "检查早于资产最近一次物化 evaluated before the asset's latest materialization"
        else:
            why = f"{self.severity} 未通过 failed, failing rows: {self.failing_rows}"
        details = f"\n    {self.description}" if self.description else ""
        samples = f"\n    示例 samples: {self.samples}" if self.samples else ""
        return f"- check '{self.check_name}' on asset '{self.asset}': {why}{details}{samples}"


def _metadata(evaluation: Any, *names: str) -> Any:
    for name in names:
        if name in evaluation.metadata:
            return getattr(evaluation.metadata[name], "value", evaluation.metadata[name])
    return None


def check_statuses(instance: DagsterInstance, asset_graph: Any, assets: Iterable[AssetKey]) -> list[CheckStatus]:
    """The latest completed evaluation of every check of ``assets`` (sorted by asset and check)."""
    assets = set(assets)
    keys = sorted((k for k in asset_graph.asset_check_keys if k.asset_key in assets),
                  key=lambda k: (k.asset_key.to_user_string(), k.name))
    storage = instance.event_log_storage
    done = set(COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES)
    latest = dict(storage.get_latest_asset_check_execution_by_key(keys)) if keys else {}
    for key in keys:  # planned in a run that skipped it, or still running: the last completed one counts
        if latest.get(key) is None or latest[key].status not in done:
            history = storage.get_asset_check_execution_history(key, limit=1, status=done)
            latest[key] = history[0] if history else None
    materialized = {r.asset_entry.asset_key: r.asset_entry.last_materialization_record.storage_id
                    for r in instance.get_asset_records(sorted(assets, key=str))
                    if r.asset_entry.last_materialization_record}
    out = []
    for key in keys:
        spec, record = asset_graph.get_check_spec(key), latest.get(key)
        evaluation = record.evaluation if record else None
        base = {"asset": key.asset_key.to_user_string(), "check_name": key.name, "blocking": bool(spec.blocking)}
        if evaluation is None:
            out.append(CheckStatus(**base, severity="ERROR" if spec.blocking else "WARN", passed=None,
                                   description=spec.description or "",
                                   evaluated_at=None, run_id=None))
            continue
        target = evaluation.target_materialization_data
        stale = (record.partition is None and target is not None
                 and target.storage_id < materialized.get(key.asset_key, target.storage_id))
        out.append(CheckStatus(
            **base, severity=evaluation.severity.value, passed=evaluation.passed,
            description=evaluation.description or spec.description or "",
            evaluated_at=dt.datetime.fromtimestamp(record.create_timestamp, dt.timezone.utc),
            run_id=record.run_id, stale=stale,
            failing_rows=_metadata(evaluation, "failing_rows", "dagster_dbt/failed_row_count"),
            samples=_metadata(evaluation, "sample_values")))
    return out


class QualityGateError(RuntimeError):
    """Raised by publication when a blocking check upstream failed, never ran or is out of date."""

    def __init__(self, blocking: list[CheckStatus]):
        self.blocking = blocking
        super().__init__(gate_message(blocking))


def gate_message(blocking: list[CheckStatus]) -> str:
    return "\n".join([f"质量关口未通过，未发布（published/ 与 extracts/ 保持上一个合格版本）。"
                      f"Quality gate: {len(blocking)} blocking check(s) not passed; nothing was published."]
                     + [s.line() for s in blocking])


def upstream_statuses(instance: DagsterInstance, asset_graph: Any, asset_key: AssetKey) -> list[CheckStatus]:
    """The checks of every asset upstream of ``asset_key``."""
    return check_statuses(instance, asset_graph, asset_graph.get_ancestor_asset_keys(asset_key))


def assert_upstream_checks_pass(instance: DagsterInstance, asset_graph: Any, asset_key: AssetKey) -> list[CheckStatus]:
    """Raise ``QualityGateError`` naming each blocking check upstream of ``asset_key`` that stops it; return the
    statuses otherwise."""
    statuses = upstream_statuses(instance, asset_graph, asset_key)
    blocking = [s for s in statuses if s.blocks]
    if blocking:
        raise QualityGateError(blocking)
    return statuses
