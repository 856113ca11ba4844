"""The outcome of one quality check: what was validated, what failed, how badly, with sample values."""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

SAMPLE_LIMIT = 5


@dataclass
class Finding:
    """One expectation (GE) or one rule (domain check) and how the data fared against it."""

    label: str
    severity: str
    description_zh: str
    success: bool
    unexpected_count: int | None = None
    element_count: int | None = None
    samples: list[Any] = field(default_factory=list)
    exception: str | None = None
    carried: bool = False  # found by an earlier run in batches that have not changed since

    def summary(self) -> str:
        count = "" if self.unexpected_count is None else f"，{self.unexpected_count} 行不符 ({self.unexpected_count} failing rows)"
        why = f"；异常 error: {self.exception}" if self.exception else ""
        samples = f"；示例 samples: {self.samples[:SAMPLE_LIMIT]}" if self.samples else ""
        return f"[{self.severity}] {self.label} — {self.description_zh}{count}{samples}{why}"


@dataclass
class CheckOutcome:
    check: str
    asset_key: tuple[str, ...]
    title_zh: str
    kind: str  # "ge", "domain" or "row_count"
    findings: list[Finding]
    feed: str | None = None
    bureau: str | None = None
    batches_validated: list[str] = field(default_factory=list)
    batches_total: int | None = None
    reused: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def asset(self) -> str:
        return "/".join(self.asset_key)

    @property
    def check_id(self) -> str:
        return f"{self.asset}:{self.check}"

    @property
    def failed(self) -> list[Finding]:
        return [f for f in self.findings if not f.success]

    @property
    def passed(self) -> bool:
        return not self.failed

    @property
    def severity(self) -> str | None:
        """The worst severity among the failed findings (None when everything passed)."""
        sev = {f.severity for f in self.failed}
        return "ERROR" if "ERROR" in sev else ("WARN" if sev else None)

    @property
    def blocking_failed(self) -> bool:
        return self.severity == "ERROR"

    @property
    def failing_rows(self) -> int:
        return sum(f.unexpected_count or 0 for f in self.failed)

    def message(self) -> str:
        head = (f"检查 {self.check} 于资产 {self.asset}（{self.title_zh}）"
                f" check '{self.check}' on asset '{self.asset}'")
        if self.passed:
            return f"{head}: 通过 passed"
        lines = [f"{head}: {self.severity} 未通过 failed, {self.failing_rows} 行不符 failing rows"]
        lines += ["  " + f.summary() for f in self.failed]
        return "\n".join(lines)

    def to_record(self, run_id: str | None) -> dict[str, Any]:
        return {
            "check_id": self.check_id, "check": self.check, "asset": self.asset,
            "asset_key": list(self.asset_key), "title_zh": self.title_zh, "kind": self.kind,
            "feed": self.feed, "bureau": self.bureau, "run_id": run_id,
            "evaluated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "passed": self.passed, "severity": self.severity, "failing_rows": self.failing_rows,
            "batches_validated": len(self.batches_validated), "batches_total": self.batches_total,
            "batch_keys": self.batches_validated[:50], "reused": self.reused,
            "findings": [asdict(f) for f in self.findings], "message": self.message(), "extra": self.extra,
        }


def finding_from_record(raw: dict[str, Any]) -> Finding:
    return Finding(**{k: raw.get(k) for k in Finding.__dataclass_fields__ if k in raw})
