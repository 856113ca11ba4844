"""Daily partitions of the time-series feeds, and the days a delivered file holds.

A feed whose contract names a ``partition_by`` date column (plant_online's ``data_date``, plant_lab's
``sampled_on``) is partitioned by day: partition ``2025-07-01`` of ``raw/plant_online`` is that day's packets,
and the dbt models over it are incremental by the same days (``dbt_project/macros/partitions.sql``). A run for a
range of days loads only the waiting files whose rows all fall in that range (the others wait for their own
run), then rebuilds exactly those days downstream; a backfill over a range rebuilds those days from the raw
history (nothing is re-read from the files: they were loaded once, by hash).

Days are China standard time (the HJ 212 DataTime and the lab dates are local). The first partition also holds
every earlier day and the last every later one (open bounds), so no loaded row is ever outside a partition.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

import duckdb
from dagster import DailyPartitionsDefinition, PartitionKeyRange

from pipelines.contracts import Contract

# The action plan (2023) is the earliest period the marts report on; older rows fall in the first partition.
DAILY_START = "2023-01-01"
TIMEZONE = "Asia/Shanghai"
# end_offset=1: today's partition exists (HJ 212 hourly packets of the current day arrive during the day).
DAILY = DailyPartitionsDefinition(start_date=DAILY_START, timezone=TIMEZONE, end_offset=1)


def is_partitioned(contract: Contract) -> bool:
    return bool(contract.partition_by)


# HJ 212-2017 writes DataTime as YYYYMMDDhhmmss (its data_date is that day): a byte scan finds the days of a log
# without parsing it, at disk speed. A spoiled packet may add a day that loads nothing: rebuilding it is harmless.
HJ212_DATA_TIME = re.compile(rb"DataTime=(\d{4})(\d{2})(\d{2})")


def _hj212_days(path: Path) -> set[dt.date]:
    days = set()
    for y, m, d in set(HJ212_DATA_TIME.findall(path.read_bytes())):
        try:
            days.add(dt.date(int(y), int(m), int(d)))
        except ValueError:
            continue
    return days


def partition_days(contract: Contract, paths: Iterable[Path]) -> dict[Path, set[dt.date]]:
    """The days (``partition_by`` values) each file holds. HJ 212 logs: a byte scan of DataTime; other formats:
    the days of the records the loader would load, read and typed by the loader's own reader and rules in a
    throwaway in-memory DuckDB. A file that cannot be read, or whose records are all quarantined, holds none."""
    if contract.format == "hj212" and contract.partition_by == "data_date":
        return {path: _hj212_days(path) for path in paths}
    from pipelines.ingest import normalise, validate
    from pipelines.ingest.normalise import sql_ident
    from pipelines.ingest.readers import GROUP_FORMATS, UnreadableFile, read, read_many

    paths = list(paths)
    column = sql_ident(contract.partition_by)
    found: dict[Path, set[dt.date]] = {p: set() for p in paths}
    if not paths:
        return found
    con = duckdb.connect()
    try:
        normalise.install(con)
        validate.create_batch(con, contract)
        home = os.environ.get("SEWERSHARE_HOME")     # a killed run's folder is then removed by the next run
        work_root = Path(home) / "tmp" / "ingest" if home else None
        if work_root is not None:
            work_root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="sewershare-days-", dir=work_root) as work:
            if contract.format in GROUP_FORMATS:     # one pass over the group, as the loader reads it
                try:
                    group, extracts = read_many(con, contract, paths, Path(work), "_ingest_days")
                except duckdb.Error:
                    group, extracts = None, []
                if group is not None:
                    validate.add_to_batch(con, contract, group, 0)
                readable = [not isinstance(e, UnreadableFile) for e in extracts]
            else:
                readable = []
                for k, path in enumerate(paths):
                    try:
                        validate.add_to_batch(con, contract,
                                              read(con, contract, path, Path(work), f"_ingest_days{k}"), k)
                        readable.append(True)
                    except (UnreadableFile, duckdb.Error):
                        readable.append(False)
            validate.build_checked(con, contract)
            rows = con.execute(f"SELECT DISTINCT _batch_file, {column} FROM {validate.CHECKED_TABLE} "
                               f"WHERE _reasons IS NULL AND {column} IS NOT NULL").fetchall()
        for k, day in rows:
            if k < len(paths) and k < len(readable) and readable[k]:
                found[paths[k]].add(day)
    finally:
        con.close()
    return found


def key_range(days: Iterable[dt.date]) -> PartitionKeyRange | None:
    """The smallest range of partition keys holding ``days`` (clamped to the partitions that exist)."""
    days = sorted(days)
    if not days:
        return None
    first = dt.date.fromisoformat(DAILY.get_first_partition_key())
    last = dt.date.fromisoformat(DAILY.get_last_partition_key())
    start, end = min(max(days[0], first), last), max(min(days[-1], last), first)
    return PartitionKeyRange(start.isoformat(), end.isoformat())


def partition_key(day: dt.date) -> str:
    """The partition holding ``day`` (earlier days are in the first partition, later ones in the last)."""
    first, last = DAILY.get_first_partition_key(), DAILY.get_last_partition_key()
    return min(max(day.isoformat(), first), last)


def range_vars(keys: PartitionKeyRange) -> dict[str, str | None]:
    """dbt vars of a run over ``keys``: ``partition_start`` / ``partition_end`` (inclusive ISO dates), each
    ``None`` at the first / last partition (open bound)."""
    return {"partition_start": None if keys.start == DAILY.get_first_partition_key() else keys.start,
            "partition_end": None if keys.end == DAILY.get_last_partition_key() else keys.end}


def covers(keys: PartitionKeyRange, days: set[dt.date]) -> bool:
    """Whether every day is inside ``keys`` (the first and last partitions being open)."""
    vars_ = range_vars(keys)
    lo = dt.date.fromisoformat(vars_["partition_start"]) if vars_["partition_start"] else dt.date.min
    hi = dt.date.fromisoformat(vars_["partition_end"]) if vars_["partition_end"] else dt.date.max
    return all(lo <= d <= hi for d in days)
