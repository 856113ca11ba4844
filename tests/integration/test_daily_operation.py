"""Daily operation end to end: a full refresh, then one new day of files, through ``sewershare run``.

Real sample files, real Dagster instance in the data home, real dbt (incremental models), real DuckDB files. The
second run must do only what the new day changes, give the same tables as building them from scratch, and
publish only the datasets that changed.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance

from pipelines import duck
from pipelines.publish.writer import verify_extracts
from tests.support.homes import REPO, operated_home

# The 0.01 sample: 10 plants, 31 days ending 2025-06-30 (docs/sample.md); the next day is 2025-07-01.
NEW_DAY = "2025-07-01"
SAMPLE_DAYS = {(dt.date(2025, 5, 31) + dt.timedelta(days=i)).isoformat() for i in range(31)}


@pytest.fixture(scope="module")
def operated(tmp_path_factory):
    return operated_home(tmp_path_factory)


@pytest.fixture(scope="module")
def runs(operated):
    instance = DagsterInstance.from_config(str(operated.root / "dagster"))
    try:
        yield list(reversed(instance.get_runs()))          # oldest first
    finally:
        instance.dispose()


def _rows(path: Path, sql: str) -> list[tuple]:
    con = duck.connect(path, read_only=True, extensions=())
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_both_runs_are_in_the_data_homes_instance(operated, runs):
    """`make dagster` reads <home>/dagster: the runs of `sewershare run` must be recorded there."""
    assert (operated.root / "dagster" / "dagster.yaml").exists()
    assert [r.job_name for r in runs] == ["sewershare_main", "sewershare_main"]
    assert all(r.is_success for r in runs)


def test_the_new_day_run_builds_only_the_daily_feeds_and_what_follows(operated, runs):
    """The new files are plant_online and plant_lab of one day: their assets, the models over them and the
    publication are built; the census, permits, inspections and their models are not."""
    new_day = runs[1]
    instance = DagsterInstance.from_config(str(operated.root / "dagster"))
    try:
        records = instance.get_records_for_run(new_day.run_id,
                                               of_type=DagsterEventType.ASSET_MATERIALIZATION).records
    finally:
        instance.dispose()
    selected = {r.event_log_entry.dagster_event.asset_key.to_user_string() for r in records}
    assert {"raw/plant_online", "raw/plant_lab", "intermediate/int_plant_hourly_values",
            "marts/effluent_compliance_daily", "marts/plant_influent_monthly", "published/warehouse"} <= selected
    assert not selected & {"raw/census_pipes", "raw/inspections", "raw/plants", "staging/stg_census__pipes",
                           "marts/pipe_segments", "marts/district_progress", "reference/water_quality_limits"}
    assert new_day.tags["dagster/asset_partition_range_start"] == NEW_DAY
    assert new_day.tags["dagster/asset_partition_range_end"] == NEW_DAY


def test_daily_feeds_are_partitioned_by_day(operated):
    instance = DagsterInstance.from_config(str(operated.root / "dagster"))
    try:
        for feed in ("plant_online", "plant_lab"):
            days = instance.get_materialized_partitions(AssetKey(["raw", feed]))
            assert days == SAMPLE_DAYS | {NEW_DAY}, feed
    finally:
        instance.dispose()


def test_the_incremental_models_equal_a_build_from_scratch(operated, tmp_path):
    """The incremental tables after the new day must hold exactly what a full rebuild of the same raw data
    gives (dbt --full-refresh on a copy of the warehouse)."""
    warehouse = tmp_path / "scratch" / "sewershare.duckdb"     # the file's stem is dbt's catalog name
    warehouse.parent.mkdir()
    shutil.copyfile(operated.root / "warehouse" / "sewershare.duckdb", warehouse)
    dbt = str(Path(sys.executable).with_name("dbt"))
    done = subprocess.run(
        [dbt, "run", "--full-refresh", "--profiles-dir", ".", "--target-path", str(tmp_path / "target"),
         "--select", "int_plant_hourly_values", "effluent_compliance_daily",
         "--vars", json.dumps({"warehouse_path": str(warehouse)})],
        cwd=REPO / "dbt_project", capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]
    con = duck.connect(operated.root / "warehouse" / "sewershare.duckdb", read_only=True, extensions=())
    try:
        con.execute(f"ATTACH '{warehouse}' AS scratch (READ_ONLY)")
        for table in ("intermediate.int_plant_hourly_values", "marts.effluent_compliance_daily"):
            total = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            only_incremental = con.execute(
                f"SELECT count(*) FROM (SELECT * FROM {table} EXCEPT ALL SELECT * FROM scratch.{table})").fetchone()[0]
            only_scratch = con.execute(
                f"SELECT count(*) FROM (SELECT * FROM scratch.{table} EXCEPT ALL SELECT * FROM {table})").fetchone()[0]
            assert total > 0 and only_incremental == 0 and only_scratch == 0, (table, only_incremental, only_scratch)
    finally:
        con.close()


def test_the_new_day_is_in_the_marts_and_the_published_copy(operated):
    """Ten plants × five effluent factors (COD, NH3-N, TN, TP and pH, the GB 18918-2002 table 1 factors the
    online monitors report) = 50 rows for the new day."""
    sql = f"SELECT count(*), count(DISTINCT plant_id) FROM marts.effluent_compliance_daily WHERE date = '{NEW_DAY}'"
    assert _rows(operated.root / "warehouse" / "sewershare.duckdb", sql) == [(50, 10)]
    assert _rows(operated.root / "published" / "sewershare.duckdb", sql) == [(50, 10)]


def test_publication_rewrites_only_the_changed_datasets(operated, runs):
    """Datasets the new day cannot change keep the version, checksum and time of the first publication; those it
    changes carry the second run."""
    first_run, second_run = runs[0].run_id, runs[1].run_id
    after = {p.name.removesuffix(".manifest.json"): json.loads(p.read_text(encoding="utf-8"))
             for p in (operated.root / "extracts" / "all").glob("*.manifest.json")}
    before = operated.manifests_after_first
    for dataset in ("pipe_segments", "problem_pipes", "district_progress", "discharger_profile",
                    "project_portfolio", "network_anomalies"):
        assert after[dataset]["run_id"] == first_run, dataset
        assert after[dataset]["sha256"] == before[dataset]["sha256"], dataset
        assert after[dataset]["generated_at"] == before[dataset]["generated_at"], dataset
    for dataset in ("effluent_compliance_daily", "plant_influent_monthly"):
        assert after[dataset]["run_id"] == second_run, dataset
        assert after[dataset]["sha256"] != before[dataset]["sha256"], dataset
    assert verify_extracts(operated.root / "extracts" / "all") == []
    published = dict(_rows(operated.root / "published" / "sewershare.duckdb",
                           "SELECT dataset, run_id FROM meta.publication"))
    assert published == {d: m["run_id"] for d, m in after.items()}
