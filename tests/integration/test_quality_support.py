"""A real warehouse for the quality and publication tests, and the Dagster job that runs the gate on it.

The warehouse is the transform tests' hand-made raw layer (tests/fixtures/raw_warehouse.py) with the real dbt
marts built on it by ``dbt build`` (once per session), so the checks meet the marts exactly as dbt writes them.
The job stands in for the main job after dbt: no-op assets with the mart keys (the data is already in the
file), the marts' great-expectations checks (``build_mart_checks``) and the publication asset, executed in
process by Dagster on a persistent instance in the data home (``<home>/dagster``), so a later run, or
publication materialized on its own, reads the results earlier runs recorded.

The one test here is the baseline the injection tests depend on: the clean fixture passes every check and
publishes, with the checks' results in the published copy's ``meta.quality_status``.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from dagster import AssetKey, AssetSelection, DagsterInstance, asset, materialize
from dagster._core.instance.ref import InstanceRef

from pipelines import duck
from pipelines.home import DataHome
from pipelines.publish.assets import build_publish_assets
from pipelines.publish.writer import verify_extracts
from pipelines.quality.checks import build_mart_checks
from pipelines.resources import HomeResource, WarehouseResource
from tests.fixtures.built_fixture import fixture_build



def _stub(key: AssetKey):
    @asset(key=key)
    def _noop() -> None:
        """The data is already in the warehouse file."""

    return _noop


def gate_definitions(marts: list[str]) -> list:
    keys = {m: AssetKey(["marts", m]) for m in marts}
    return [*(_stub(k) for k in keys.values()), *build_mart_checks(keys), *build_publish_assets(keys.values())]


def instance_of(home: DataHome) -> DagsterInstance:
    """The home's own Dagster instance (sqlite under ``<home>/dagster``): it outlives a run, and a copied home
    carries its history along."""
    (home.root / "dagster").mkdir(exist_ok=True)
    return DagsterInstance.from_ref(InstanceRef.from_dir(str(home.root / "dagster")))


def run_gate(home: DataHome, marts: list[str], selection=None):
    resources = {"home": HomeResource(root=str(home.root)), "warehouse": WarehouseResource(path=str(home.warehouse))}
    with instance_of(home) as instance:
        return materialize(gate_definitions(marts), resources=resources, instance=instance,
                           selection=selection, raise_on_error=False)


def only(*keys: AssetKey):
    """A selection of assets without their checks (a materialization no check has looked at)."""
    return AssetSelection.assets(*keys).without_checks()


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


def published_rows(home: DataHome, sql: str) -> list[tuple]:
    con = duck.connect(home.published, read_only=True, extensions=())
    try:
        return con.execute(sql).fetchall()
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
    """The raw fixture with the dbt marts built on it (read it, never write it: copy it); the same build as the
    marts tests', once per session (tests/fixtures/built_fixture.py)."""
    path, summary = fixture_build(tmp_path_factory)
    assert summary["success"], "the fixture's dbt build failed"
    return path


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
    marts = mart_names(home.warehouse)
    assert result.success
    # two checks per mart, every one evaluated; the fixture's marts keep every promise but one, a warning
    assert set(evals) == {f"marts/{m}:{c}" for m in marts for c in ("ge_suite", "row_count_change")}
    assert [k for k, e in evals.items() if not e.passed] == ["marts/effluent_compliance_daily:ge_suite"]
    # The mart has a row per plant, day of its monitoring period (first to last outlet data) and effluent factor
    # (COD, NH3-N, TN, TP, pH); a row with fewer than min_valid_hours (20) valid hours is 数据不足, a WARN.
    # P01: 2024-07-01…04 = 4 days × 5 = 20 rows; P03: 2024-07-15…2025-01-15 = 17+31+30+31+30+31+15 = 185 days ×
    # 5 = 925 rows; 945 in all. Enough valid hours: P01 07-01 COD (23: hour 5 is D), NH3-N (24), pH (24); 07-02
    # none (COD 10 hours, the fixture's comment); 07-03 COD (24); 07-04 COD (23: hour 3 is T), pH (24); P03
    # NH3-N on 2024-07-15 and 2025-01-15 (24 each): 8 rows. 945 - 8 = 937 rows without enough valid hours.
    incomplete = evals["marts/effluent_compliance_daily:ge_suite"]
    assert incomplete.severity.value == "WARN" and incomplete.metadata["failing_rows"].value == 937
    assert list(incomplete.metadata["sample_values"].value) == [
        "expect_column_values_to_be_in_set(meets_min_valid_hours)"]
    # the samples name failing rows only, never one of the eight days with enough valid hours
    enough = {("P01", "2024-07-01", "cod"), ("P01", "2024-07-01", "nh3n"), ("P01", "2024-07-01", "ph"),
              ("P01", "2024-07-03", "cod"), ("P01", "2024-07-04", "cod"), ("P01", "2024-07-04", "ph"),
              ("P03", "2024-07-15", "nh3n"), ("P03", "2025-01-15", "nh3n")}
    samples = incomplete.metadata["sample_values"].value["expect_column_values_to_be_in_set(meets_min_valid_hours)"]
    assert samples and all(s["meets_min_valid_hours"] is False for s in samples)
    assert not {(s["plant_id"], s["date"][:10], s["factor"]) for s in samples} & enough
    # a first evaluation has no previous row count to compare with
    assert evals["marts/pipe_segments:row_count_change"].metadata["previous_rows"].value is None

    published = [r[0] for r in published_rows(
        home, "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY 1")]
    assert published == marts
    rows = dict(published_rows(home, "SELECT dataset, row_count FROM meta.publication"))
    wh = duck.connect(home.warehouse, read_only=True, extensions=())
    try:
        assert rows == {m: wh.execute(f"SELECT count(*) FROM marts.{m}").fetchone()[0] for m in marts}
    finally:
        wh.close()
    # what Dagster recorded, in the copy: one row per check of each published mart, from this run
    status = published_rows(home, "SELECT asset, check_name, severity, passed, run_id FROM meta.quality_status "
                                  "ORDER BY asset, check_name")
    assert [(a, c) for a, c, *_ in status] == sorted((f"marts/{m}", c) for m in marts
                                                     for c in ("ge_suite", "row_count_change"))
    assert {(a, sev, passed, run) for a, c, sev, passed, run in status if c == "ge_suite"} == {
        *((f"marts/{m}", "ERROR", True, result.run_id) for m in marts if m != "effluent_compliance_daily"),
        ("marts/effluent_compliance_daily", "WARN", False, result.run_id)}
    extracts = home.extracts / "all"
    assert verify_extracts(extracts) == []
    assert sorted(p.name.removesuffix(".parquet") for p in extracts.glob("*.parquet")) == marts
