"""The plan of a run: what changed since the last one, and therefore what the run selects.

One planner for every way a run starts (a landing sensor, the daily schedule, ``sewershare run``), so they all
select the same things for the same situation:

- **files waiting**: ``raw/<feed>`` of every feed with settled files in its landing folder (the run config names
  them: files arriving later wait for the next run). For a daily-partitioned feed the run covers the days those
  files hold (``pipelines/ingest/partitions.py``).
- **never built**: any other asset without a materialization (a new data home, a new model), an ingestion asset
  too: a feed nothing was delivered for yet (alert_acks before the first ``sewershare ack``) still gets its empty
  tables and views, which the dbt models read; it loads no file in that run.
- **code changed**: an asset whose code version (for dbt: the model's checksum) differs from the one its latest
  materialization recorded; daily (incremental) models are then rebuilt with ``--full-refresh``.
- **reporting date moved** (``calendar=True``: the schedule and the CLI, not the sensors): the models tagged
  ``reporting_date`` last built on an earlier day (China time), except the daily (incremental) ones, whose days
  are rebuilt by their partitions.

The run selects those roots and everything downstream (dbt models, checks, publication), the checks of every
selected asset, and the delivery-freshness check of every feed. Nothing else is rebuilt.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from dagster import AssetCheckKey, AssetKey, AssetSelection, DagsterInstance, PartitionKeyRange, RunRequest
from dagster._core.definitions.assets.graph.base_asset_graph import BaseAssetGraph
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from pipelines.contracts import Contract, load_contracts, overdue_after_days
from pipelines.hashing import sha256_file
from pipelines.home import DataHome
from pipelines.ingest.freshness import check_key as freshness_check_key
from pipelines.ingest.landing import settled_files
from pipelines.ingest.partitions import DAILY, TIMEZONE, is_partitioned, key_range, partition_days
from pipelines.transform.assets import CALENDAR_TAG
from pipelines.transform.daily import DAILY_TAG, last_storage_ids

CODE_VERSION_TAG = "dagster/code_version"
DBT_OP = "dbt_models"
PLAN_TAG = "sewershare/plan"
NEVER_BUILT = "从未构建 never built"


def raw_key(feed: str) -> AssetKey:
    return AssetKey(["raw", feed])


@dataclass
class RunPlan:
    files: dict[str, list[Path]] = field(default_factory=dict)
    roots: dict[AssetKey, str] = field(default_factory=dict)      # why each root is in the plan
    assets: frozenset[AssetKey] = frozenset()
    checks: frozenset[AssetCheckKey] = frozenset()
    partitions: PartitionKeyRange | None = None
    full_refresh: bool = False

    @property
    def empty(self) -> bool:
        return not self.assets

    def run_config(self) -> dict:
        ops: dict[str, dict] = {}
        for feed, paths in self.files.items():
            if raw_key(feed) in self.assets:
                ops[f"raw__{feed}"] = {"config": {"files": [p.name for p in paths]}}
        for key in self.roots:
            if key.path[0] == "raw" and key.path[-1] not in self.files and self.roots[key] == NEVER_BUILT:
                ops[f"raw__{key.path[-1]}"] = {"config": {"files": []}}   # its files, if any, are a later run's
        if self.full_refresh:
            ops[DBT_OP] = {"config": {"full_refresh": True}}
        return {"ops": ops} if ops else {}

    def tags(self) -> dict[str, str]:
        tags = {PLAN_TAG: self.summary()[:250]}
        if self.partitions is not None:
            tags[ASSET_PARTITION_RANGE_START_TAG] = self.partitions.start
            tags[ASSET_PARTITION_RANGE_END_TAG] = self.partitions.end
        return tags

    def run_key(self) -> str:
        """The file hash for one file, a hash of the files' hashes for several (sensor run keys)."""
        hashes = sorted(f"{feed}:{sha256_file(p)[0]}" for feed, paths in self.files.items() for p in paths)
        if len(hashes) == 1:
            return hashes[0]
        return "files:" + hashlib.sha256("\n".join(hashes).encode()).hexdigest()

    def run_request(self, run_key: str | None = None) -> RunRequest:
        return RunRequest(run_key=run_key, asset_selection=sorted(self.assets, key=str),
                          asset_check_keys=sorted(self.checks, key=str), run_config=self.run_config(),
                          tags=self.tags())

    def summary(self) -> str:
        parts = []
        for feed, paths in sorted(self.files.items()):
            parts.append(f"{feed}: {len(paths)} 个文件 files")
        reasons: dict[str, int] = {}
        for key, reason in self.roots.items():
            if key.path[0] != "raw" or key.path[-1] not in self.files:
                reasons[reason] = reasons.get(reason, 0) + 1
        parts += [f"{reason}: {n} 个资产 assets" for reason, n in sorted(reasons.items())]
        if self.partitions is not None:
            parts.append(f"分区 partitions {self.partitions.start}…{self.partitions.end}")
        return "; ".join(parts) or "无变化 nothing changed"


def _today() -> dt.date:
    return dt.datetime.now(ZoneInfo(TIMEZONE)).date()


def _local_day(timestamp: float) -> dt.date:
    return dt.datetime.fromtimestamp(timestamp, ZoneInfo(TIMEZONE)).date()


def plan_run(asset_graph: BaseAssetGraph, instance: DagsterInstance, home: DataHome, *,
             files: Mapping[str, list[Path]] | None = None, calendar: bool = True, full: bool = False,
             contracts: Mapping[str, Contract] | None = None, today: dt.date | None = None) -> RunPlan:
    """The plan of the next run. ``files``: the waiting files to load per feed (default: every settled file of
    every landing folder); ``calendar``: also rebuild what the reporting date makes due; ``full``: rebuild
    every model (incremental ones whole) and re-run every check, whatever changed."""
    contracts = contracts or load_contracts()
    if files is None:
        files = {feed: settled_files(contract, home) for feed, contract in contracts.items()}
    plan = RunPlan(files={feed: list(paths) for feed, paths in files.items() if paths})
    for feed, paths in plan.files.items():
        plan.roots[raw_key(feed)] = f"{len(paths)} 个新文件 new files"
    if full:       # every feed too: its ingestion checks re-run even without a new file
        for feed in contracts:
            plan.roots.setdefault(raw_key(feed), "全量重建 full rebuild")

    today = today or _today()
    every = list(asset_graph.materializable_asset_keys)
    keys = [k for k in every if k.path[0] != "raw"]
    raw_keys = [k for k in every if k.path[0] == "raw" and k not in plan.roots]
    built = instance.get_latest_materialization_events(raw_keys)
    for key in raw_keys:
        if built.get(key) is None:
            plan.roots[key] = NEVER_BUILT
    latest = instance.get_latest_materialization_events(keys)
    storage_ids = last_storage_ids(instance, every)
    for key in keys:
        node = asset_graph.get(key)
        event = latest.get(key)
        if full:
            plan.roots[key] = "全量重建 full rebuild"
            plan.full_refresh = True
            continue
        if event is None:
            plan.roots[key] = NEVER_BUILT
            continue
        recorded = event.asset_materialization.tags.get(CODE_VERSION_TAG) if event.asset_materialization else None
        if node.code_version is not None and recorded is not None and recorded != node.code_version:
            plan.roots[key] = "代码已修改 code changed"
            if DAILY_TAG in node.tags:
                plan.full_refresh = True
        elif any((storage_ids.get(parent) or 0) > (storage_ids.get(key) or 0) for parent in node.parent_keys):
            # a parent changed after it (a failed or partial run, a materialization from the UI)
            plan.roots[key] = "上游有更新 upstream newer"
        elif calendar and CALENDAR_TAG in node.tags and DAILY_TAG not in node.tags \
                and _local_day(event.timestamp) < today:
            # A daily (incremental) model reads the reporting date only to leave out data after it; the data of
            # a new day arrives as its partition and rebuilds that day, so the calendar alone rebuilds nothing
            # there (a run for an earlier reporting date, --reporting-date, is a full one).
            plan.roots[key] = "报告日期已更新 reporting date moved"

    if not plan.roots:
        plan.checks = frozenset(freshness_check_key(f) for f, c in contracts.items()
                                if overdue_after_days(c.cadence) is not None)
        return plan
    plan.assets = frozenset(AssetSelection.assets(*plan.roots).downstream().resolve(asset_graph))
    checks = AssetSelection.checks_for_assets(*plan.assets).resolve_checks(asset_graph)
    plan.checks = frozenset(checks) | {freshness_check_key(f) for f, c in contracts.items()
                                       if overdue_after_days(c.cadence) is not None}

    # A run over daily-partitioned feeds covers the days of their files.
    partitioned = [feed for feed in contracts if is_partitioned(contracts[feed]) and raw_key(feed) in plan.assets]
    if partitioned:
        days: set[dt.date] = set()
        for feed in partitioned:
            for found in scan_days(contracts[feed], plan.files.get(feed, [])).values():
                days |= found
        # Files without a loadable row (or, with --full, no file) still need a run of the feed: today's partition.
        plan.partitions = key_range(days) or PartitionKeyRange(DAILY.get_last_partition_key(),
                                                               DAILY.get_last_partition_key())
    return plan


def scan_days(contract: Contract, paths: list[Path]) -> dict[Path, set[dt.date]]:
    return partition_days(contract, paths)
