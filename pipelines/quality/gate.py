"""The publication gate: every blocking check's latest result must have passed (or failed only with WARN).

Dagster already stops the assets downstream of a blocking check that fails with ERROR in the same run. The gate
adds two things: publication materialized on its own (from the UI, a later run) still refuses to publish while
the latest result of a blocking check is a failure; and the failure message names the check, the asset, the
number of failing rows and sample values, for ``sewershare run`` to print (``gate_message``).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pipelines.home import DataHome
from pipelines.quality.store import QualityStore


class QualityGateError(RuntimeError):
    """Raised when a blocking check failed; ``failures`` holds the failing checks' records."""

    def __init__(self, failures: list[dict[str, Any]]):
        self.failures = failures
        super().__init__(format_failures(failures))


def format_failures(failures: list[dict[str, Any]]) -> str:
    lines = [f"质量门禁未通过，未发布（published/ 与 extracts/ 保持上一个合格版本）。"
             f"Quality gate failed: {len(failures)} blocking check(s); nothing was published."]
    for rec in failures:
        if rec.get("never_evaluated"):
            lines.append(f"- {rec['check_id']}: 从未执行 never evaluated")
            continue
        lines.append(f"- {rec.get('message') or rec['check_id']}")
    return "\n".join(lines)


def gate_failures(home: DataHome, check_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Latest results that failed with ERROR. With ``check_ids``, a listed check with no result also fails the
    gate (publishing data no check has looked at would defeat the gate)."""
    latest = QualityStore(home).latest_results()
    failures = [r for r in latest.values() if not r.get("passed") and r.get("severity") == "ERROR"
                and (check_ids is None or r["check_id"] in set(check_ids))]
    if check_ids is not None:
        failures += [{"check_id": c, "never_evaluated": True} for c in check_ids if c not in latest]
    return sorted(failures, key=lambda r: r["check_id"])


def assert_gate(home: DataHome, check_ids: Iterable[str] | None = None) -> None:
    failures = gate_failures(home, list(check_ids) if check_ids is not None else None)
    if failures:
        raise QualityGateError(failures)


def gate_message(home: DataHome, check_ids: Iterable[str] | None = None) -> str | None:
    """The message for the CLI after a failed run (None when the gate is open)."""
    failures = gate_failures(home, list(check_ids) if check_ids is not None else None)
    return format_failures(failures) if failures else None
