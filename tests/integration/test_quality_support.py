"""A real warehouse for the quality and publication tests, and the Dagster job that runs the gate on it.

The warehouse is the transform tests' hand-made raw layer (tests/fixtures/raw_warehouse.py) with the real dbt
marts built on it by ``dbt build`` (once per session), so the checks meet the marts exactly as dbt writes them.
The job stands in for the main job: no-op assets with the raw and mart keys (the data is already in the file),
the quality checks of ``build_quality_checks`` and the publication asset, executed in process by Dagster.

The one test here is the baseline the injection tests depend on: the clean fixture passes the gate, with the
WARN findings its deliberate anomalies must produce, and publishes.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance, asset, materialize

from pipelines import duck
from pipelines.home import DBT_PROJECT_DIR, DataHome
from pipelines.publish.assets import build_publish_assets
from pipelines.publish.writer import verify_extracts
from pipelines.quality.checks import blocking_check_ids, build_quality_checks, default_raw_keys
from pipelines.resources import HomeResource, WarehouseResource
from tests.fixtures.raw_warehouse import REPORTING_DATE, build

DBT = Path(sys.executable).with_name("dbt")


def build_fixture_warehouse(path: Path, work: Path) -> Path:
    build(path)
    work.mkdir(parents=True, exist_ok=True)
    dbt_vars = json.dumps({"warehouse_path": str(path), "reporting_date": REPORTING_DATE.isoformat()})
    proc = subprocess.run(
        [str(DBT), "build", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(work / "target"), "--log-path", str(work / "logs"), "--vars", dbt_vars,
         "--exclude", "resource_type:unit_test"],
        capture_output=True, text=True, env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return path


def _stub(key: AssetKey, deps: list[AssetKey]):
    @asset(key=key, deps=deps)
    def _noop() -> None:
        """The data is already in the warehouse file."""

    return _noop


def gate_definitions(marts: list[str]) -> list:
    raw_keys, mart_keys = default_raw_keys(), {m: AssetKey(["marts", m]) for m in marts}
    checks = build_quality_checks(raw_keys, mart_keys)
    stubs = [_stub(k, []) for k in raw_keys.values()] + [_stub(k, list(raw_keys.values())) for k in mart_keys.values()]
    return [*stubs, *checks, *build_publish_assets(mart_keys, blocking_check_ids(checks))]


def run_gate(home: DataHome, marts: list[str], selection=None):
    resources = {"home": HomeResource(root=str(home.root)), "warehouse": WarehouseResource(path=str(home.warehouse))}
    return materialize(gate_definitions(marts), resources=resources, instance=DagsterInstance.ephemeral(),
                       selection=selection, raise_on_error=False)


def mart_names(warehouse: Path) -> list[str]:
    con = duck.connect(warehouse, read_only=True, extensions=())
    try:
        return [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY 1").fetchall()]
    finally:
        con.close()


def execute(warehouse: Path, sql: str) -> None:
    con = duck.connect(warehouse)
    try:
        con.execute(sql)
    finally:
        con.close()


def copy_home(src: DataHome, dst: Path) -> DataHome:
    shutil.copytree(src.root, dst, symlinks=True)
    return DataHome(dst).ensure()


def evaluations(result) -> dict[str, object]:
    return {f"{e.asset_key.to_user_string()}:{e.check_name}": e for e in result.get_asset_check_evaluations()}


# Other test modules import these fixtures; pytest then holds one definition per module, so the work itself is
# cached here, once per process.
_ONCE: dict[str, object] = {}


def _once(key: str, make):
    if key not in _ONCE:
        _ONCE[key] = make()
    return _ONCE[key]


@pytest.fixture(scope="session")
def fixture_warehouse(tmp_path_factory) -> Path:
    """The raw fixture with the dbt marts built on it (read it, never write it: copy it)."""
    def make() -> Path:
        work = tmp_path_factory.mktemp("quality_fixture")
        return build_fixture_warehouse(work / "warehouse.duckdb", work / "dbt")

    return _once("warehouse", make)


@pytest.fixture(scope="session")
def published_home(tmp_path_factory, fixture_warehouse) -> tuple[DataHome, object]:
    """A data home after one clean run of the gate: the last good version the injection tests start from."""
    def make():
        home = DataHome(tmp_path_factory.mktemp("published_home") / "home").ensure()
        shutil.copy(fixture_warehouse, home.warehouse)
        return home, run_gate(home, mart_names(home.warehouse))

    return _once("published_home", make)


def test_clean_fixture_passes_the_gate_and_publishes(published_home):
    home, result = published_home
    evals = evaluations(result)
    errors = [k for k, e in evals.items() if not e.passed and e.severity.value == "ERROR"]
    assert result.success, errors
    assert not errors
    # the fixture's deliberate anomalies are reported, as warnings, by the checks meant to find them
    warned = {k for k, e in evals.items() if not e.passed}
    assert {"raw/census_pipes:network_cycles", "raw/census_pipes:network_dangling_manholes",
            "raw/census_pipes:network_uphill_segments", "raw/drainage_permits:reference_connection_manhole",
            "raw/inspections:reference_segment", "raw/upgrade_projects:reference_segments",
            "raw/plant_online:monitoring_completeness"} <= warned
    assert all(evals[k].severity.value == "WARN" for k in warned)
    cycles = evals["raw/census_pipes:network_cycles"].metadata
    assert cycles["failing_rows"].value == 5  # C1→C2→C3→C1 and B1⇄B2 (see the fixture's comments)
    completeness = json.dumps(evals["raw/plant_online:monitoring_completeness"].metadata["sample_values"].value)
    assert "2024-07-02" in completeness and '"valid_hours": 10' in completeness

    marts = mart_names(home.warehouse)
    con = duck.connect(home.published, read_only=True)
    try:
        published = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY 1").fetchall()]
        rows = dict(con.execute("SELECT dataset, row_count FROM meta.publication").fetchall())
    finally:
        con.close()
    assert published == marts
    wh = duck.connect(home.warehouse, read_only=True)
    try:
        assert rows == {m: wh.execute(f"SELECT count(*) FROM marts.{m}").fetchone()[0] for m in marts}
    finally:
        wh.close()
    extracts = home.extracts / "all"
    assert verify_extracts(extracts) == []
    assert sorted(p.name.removesuffix(".parquet") for p in extracts.glob("*.parquet")) == marts
    assert (home.reports / "quality_summary.html").read_text(encoding="utf-8").count("数据质量报告") >= 1
    assert (home.reports / "data_docs" / "index.html").exists()
