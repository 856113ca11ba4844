"""Which days the daily incremental models rebuild in a run, read from Dagster's event log.

The time-series feeds are daily partitioned (``pipelines/ingest/partitions.py``); the dbt models over them carry
the dbt tag ``daily`` and the incremental ones rebuild only the days named by the vars ``partition_start`` /
``partition_end`` (``dbt_project/macros/partitions.sql``). The days are those partitions of the feeds that were
materialized after the models' latest build: a new day of files, a correction of an old day, or a backfill of a
range all leave exactly those partitions in the event log. Every day is rebuilt instead when a daily model was
never built, or when something upstream that is not a daily series changed since (the plant registry that maps
MNs to plants, a seed of limits, a model rebuilt in this same dbt invocation).
"""
from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from dagster import AssetKey, DagsterInstance, PartitionKeyRange

from pipelines.ingest.partitions import range_vars

DAILY_TAG = "daily"


@dataclass(frozen=True)
class DailyRebuild:
    """``every_day`` (open range), no day at all (``keys is None``), or the range ``keys``."""

    every_day: bool = False
    keys: PartitionKeyRange | None = None
    reason: str = ""

    def days(self) -> tuple[str | None, str | None]:
        """(partition_start, partition_end) for the models: inclusive ISO dates, None = open."""
        if self.every_day:
            return None, None
        if self.keys is None:
            # an empty range: the incremental models delete and insert nothing
            return "9999-12-31", "0001-01-01"
        bounds = range_vars(self.keys)
        return bounds["partition_start"], bounds["partition_end"]


def last_storage_ids(instance: DagsterInstance, keys: Collection[AssetKey]) -> dict[AssetKey, int | None]:
    """The event-log id of each asset's latest materialization (None: never materialized)."""
    found = {r.asset_entry.asset_key: r.asset_entry.last_materialization_storage_id
             for r in instance.get_asset_records(list(keys))}
    return {k: found.get(k) for k in keys}


def _ancestors(parents: Mapping[AssetKey, Collection[AssetKey]], keys: Collection[AssetKey]) -> set[AssetKey]:
    seen: set[AssetKey] = set()
    todo = list(keys)
    while todo:
        for parent in parents.get(todo.pop(), ()):
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def daily_rebuild(instance: DagsterInstance, parents: Mapping[AssetKey, Collection[AssetKey]],
                  partitioned: Collection[AssetKey], daily: Collection[AssetKey], chain: Collection[AssetKey],
                  built_now: Collection[AssetKey]) -> DailyRebuild:
    """The days to rebuild for the incremental daily models ``daily`` (those selected in this invocation).

    ``parents``: each asset's parent keys; ``partitioned``: the daily-partitioned feed assets; ``chain``: every
    model of the daily series (views included: they follow the feeds day by day); ``built_now``: the other
    assets of this same dbt invocation (rebuilt before the daily models, after this decision). Each model is
    judged against its own latest build; the days of all of them are rebuilt together."""
    if not daily:
        return DailyRebuild(keys=None, reason="no daily model selected")
    latest = last_storage_ids(instance, daily)
    if any(sid is None for sid in latest.values()):
        return DailyRebuild(every_day=True, reason="首次构建 first build")
    days: set[str] = set()
    for model in sorted(daily, key=str):
        since = latest[model]
        upstream = _ancestors(parents, [model]) - set(chain)
        changed_now = sorted(k.to_user_string() for k in upstream & set(built_now))
        if changed_now:
            return DailyRebuild(every_day=True, reason=f"上游本次重建 upstream rebuilt now: {', '.join(changed_now)}")
        others = last_storage_ids(instance, [k for k in upstream if k not in partitioned])
        changed = sorted(k.to_user_string() for k, sid in others.items() if sid is not None and sid > since)
        if changed:
            return DailyRebuild(every_day=True, reason=f"上游已更新 upstream changed: {', '.join(changed)}")
        for key in upstream & set(partitioned):
            days |= instance.get_materialized_partitions(key, after_cursor=since)
    if not days:
        return DailyRebuild(keys=None, reason="没有新的分区 no new partitions")
    ordered = sorted(days)
    return DailyRebuild(keys=PartitionKeyRange(ordered[0], ordered[-1]),
                        reason=f"{len(days)} 个新分区 new partitions {ordered[0]}…{ordered[-1]}")
