"""Delivery freshness: is each bureau sending its feed as often as the contract's ``cadence`` says?

A feed is overdue when no file of it was loaded for longer than its cadence allows (``pipelines.contracts.
overdue_after_days``: the period plus a grace for a late delivery, the one rule the dbt sources and the alerts use). The finding is per bureau: a feed owned by several bureaus (enforcement: 市综合执法局
and 市生态环境局) is judged per owner when its files are named after their bureau, else the owners share its files.

Evaluated as the non-blocking asset check ``delivery_freshness`` on every ``raw/<feed>`` (WARN: a late bureau is a
finding to chase, not a reason to withhold what the others sent), in every run of the plan (sensors, the daily
schedule, ``sewershare run``), from ``audit.file_registry``.
"""

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetChecksDefinition,
    AssetKey,
    MetadataValue,
    TableColumn,
    TableRecord,
    TableSchema,
    multi_asset_check,
)

from pipelines.contracts import Contract, overdue_after_days
from pipelines.resources import WarehouseResource

CHECK_NAME = "delivery_freshness"
# A feed without a cadence (on_demand: alert acknowledgements) is never overdue and has no freshness check.
CADENCE_ZH = {"daily": "每日", "weekly": "每周", "monthly": "每月", "quarterly": "每季度", "yearly": "每年"}

BUREAU_SCHEMA = TableSchema(columns=[
    TableColumn("bureau", "string"), TableColumn("last_delivery", "string"), TableColumn("days_since", "float"),
    TableColumn("allowed_days", "int"), TableColumn("overdue", "bool"),
])


@dataclass(frozen=True)
class Finding:
    """One bureau's standing for one feed."""

    feed: str
    title_zh: str
    bureau: str
    cadence: str
    allowed_days: int
    last_delivery: dt.datetime | None

    def days_since(self, now: dt.datetime) -> float | None:
        if self.last_delivery is None:
            return None
        return round((now - self.last_delivery).total_seconds() / 86400, 1)

    def overdue(self, now: dt.datetime) -> bool:
        since = self.days_since(now)
        return since is None or since > self.allowed_days

    def message(self, now: dt.datetime) -> str:
        if self.last_delivery is None:
            return (f"{self.bureau}「{self.title_zh}」({self.feed}) 从未报送，应{CADENCE_ZH[self.cadence]}报送 "
                    f"(never delivered; expected {self.cadence})")
        return (f"{self.bureau}「{self.title_zh}」({self.feed}) 最近一次报送 {self.last_delivery:%Y-%m-%d %H:%M}，"
                f"已 {self.days_since(now)} 天，超过{CADENCE_ZH[self.cadence]}报送允许的 {self.allowed_days} 天 "
                f"(last delivery {self.days_since(now)} days ago; {self.cadence} allows {self.allowed_days})")


def owners(contract: Contract) -> list[str]:
    return [b.strip() for b in contract.owner.replace("，", ",").split(",") if b.strip()]


def _last_loads(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, dt.datetime]]:
    try:
        return con.execute("SELECT feed, file_name, max(loaded_at) FROM audit.file_registry "
                           "WHERE status = 'loaded' GROUP BY ALL").fetchall()
    except duckdb.CatalogException:       # nothing was ever loaded
        return []


def findings(con: duckdb.DuckDBPyConnection | None, contracts: Mapping[str, Contract]) -> list[Finding]:
    """Every (feed, owner bureau) with its last delivery, from the file registry (``con`` None: no warehouse)."""
    loads = _last_loads(con) if con is not None else []
    result = []
    for feed, contract in contracts.items():
        if overdue_after_days(contract.cadence) is None:
            continue
        mine = [(name, at) for f, name, at in loads if f == feed]
        bureaus = owners(contract)
        named = {b: [at for name, at in mine if b.removeprefix("市") in name] for b in bureaus}
        attributed = len(bureaus) > 1 and any(named.values())
        for bureau in bureaus:
            times = named[bureau] if attributed else [at for _, at in mine]
            result.append(Finding(feed, contract.title_zh, bureau, contract.cadence,
                                  overdue_after_days(contract.cadence), max(times) if times else None))
    return result


def check_key(feed: str) -> AssetCheckKey:
    return AssetCheckKey(AssetKey(["raw", feed]), CHECK_NAME)


def build_freshness_checks(contracts: Mapping[str, Contract]) -> AssetChecksDefinition:
    contracts = {f: c for f, c in contracts.items() if overdue_after_days(c.cadence) is not None}
    specs = [AssetCheckSpec(CHECK_NAME, asset=AssetKey(["raw", feed]), blocking=False,
                            description=f"报送及时性：{CADENCE_ZH[c.cadence]}报送，超过 {overdue_after_days(c.cadence)} 天"
                                        f"没有新文件即为逾期（按报送部门）。Delivery freshness from the contract's "
                                        f"cadence ({c.cadence}), per bureau.")
             for feed, c in contracts.items()]

    @multi_asset_check(name="delivery_freshness", specs=specs, can_subset=True,
                       description="各部门数据报送及时性（依据契约 cadence）。Delivery freshness per bureau.")
    def _freshness(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> Iterator[AssetCheckResult]:
        now = dt.datetime.now()
        if Path(warehouse.path).exists():
            with warehouse.reader(extensions=()) as con:
                found = findings(con, contracts)
        else:
            found = findings(None, contracts)
        selected = {k.asset_key.path[-1] for k in context.selected_asset_check_keys}
        for feed in sorted(selected):
            mine = [f for f in found if f.feed == feed]
            late = [f for f in mine if f.overdue(now)]
            for f in late:
                context.log.warning(f.message(now))
            yield AssetCheckResult(
                asset_key=AssetKey(["raw", feed]), check_name=CHECK_NAME, passed=not late,
                severity=AssetCheckSeverity.WARN,
                description="；".join(f.message(now) for f in late) or "按时报送 on time",
                metadata={
                    "cadence 报送频率": contracts[feed].cadence,
                    "allowed_days 允许天数": overdue_after_days(contracts[feed].cadence),
                    "overdue_bureaus 逾期部门": ", ".join(f.bureau for f in late) or "—",
                    "bureaus 各部门": MetadataValue.table(schema=BUREAU_SCHEMA, records=[TableRecord({
                        "bureau": f.bureau,
                        "last_delivery": f"{f.last_delivery:%Y-%m-%d %H:%M}" if f.last_delivery else "从未 never",
                        "days_since": f.days_since(now) if f.last_delivery else None,
                        "allowed_days": f.allowed_days, "overdue": f.overdue(now)}) for f in mine]),
                })

    return _freshness
