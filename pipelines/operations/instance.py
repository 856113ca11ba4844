"""The one persistent Dagster instance of a data home: ``<home>/dagster`` with its ``dagster.yaml``.

``sewershare run``, ``sewershare dagster`` (``make dagster``: webserver and daemon) and a production daemon all
use it, so the UI shows every run, check result, sensor tick and schedule tick of that home, and a schedule or
sensor switched on or off in the UI stays so. Storage is Dagster's default (SQLite under ``dagster/storage``,
relative to DAGSTER_HOME, so a data home can be moved or copied as a whole).
"""
from __future__ import annotations

import os
from pathlib import Path

from dagster import DagsterInstance

from pipelines.home import DataHome

# The warehouse is one DuckDB file with one writer at a time: every asset that writes it (ingestion, dbt,
# publication) is in this pool, and the pool's limit is 1 (``concurrency.pools.default_limit`` below).
WAREHOUSE_POOL = "warehouse"
MARKER = "# sewershare-managed"

DAGSTER_YAML = f"""{MARKER}: rewritten by sewershare when it changes; remove this line to manage the file yourself.
# 本数据目录的 Dagster 实例：运行记录、检查结果、传感器与定时任务状态均保存在此（docs/operations.md）。
# The Dagster instance of this data home: runs, check results, sensor and schedule state live here.
concurrency:
  pools:
    # Every pool without an explicit limit (the {WAREHOUSE_POOL} pool among them) runs one step at a time
    # across all runs: DuckDB allows one writer per file.
    default_limit: 1
    granularity: op
  runs:
    # Sensors may queue several runs at once; the pool serialises their warehouse steps, this bounds the rest.
    max_concurrent_runs: 4
run_monitoring:
  # A run whose process died (killed, machine restarted) is marked failed and its pool slot freed.
  enabled: true
  start_timeout_seconds: 300
  poll_interval_seconds: 60
retention:
  schedule:
    purge_after_days: 90
  sensor:
    purge_after_days:
      skipped: 7
      failure: 30
      success: -1
telemetry:
  enabled: false
"""


def dagster_home(home: DataHome) -> Path:
    return home.dagster


def ensure_instance(home: DataHome) -> Path:
    """Create ``<home>/dagster/dagster.yaml`` (or bring a sewershare-managed one up to date); returns the
    directory, the DAGSTER_HOME of this data home. A dagster.yaml without the marker line is the operator's
    and is left alone."""
    directory = dagster_home(home)
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "dagster.yaml"
    if not config.exists() or (config.read_text(encoding="utf-8").startswith(MARKER)
                               and config.read_text(encoding="utf-8") != DAGSTER_YAML):
        tmp = config.with_name(".dagster.yaml.tmp")
        tmp.write_text(DAGSTER_YAML, encoding="utf-8")
        os.replace(tmp, config)
    return directory


def instance_for(home: DataHome) -> DagsterInstance:
    """The persistent instance of ``home``. Also sets DAGSTER_HOME for this process, so that anything
    that asks Dagster for "the" instance (``DagsterInstance.get()``) gets the same one."""
    directory = ensure_instance(home)
    os.environ["DAGSTER_HOME"] = str(directory)
    return DagsterInstance.get()
