"""Publication on the dbt-built fixture warehouse: manifests that verify, GeoParquet with its CRS, Chinese
comments in the published copy, masked personal fields, and nothing swapped in when anything fails."""
from __future__ import annotations

import hashlib
import json
import os
import shutil

import pyarrow.parquet as pq
import pytest

from pipelines import duck
from pipelines.home import DataHome
from pipelines.publish.docs import from_yaml
from pipelines.publish.writer import PersonalDataLeak, publish, verify_extracts
from pipelines.resources import WarehouseResource
from test_quality_support import execute, fixture_warehouse, mart_names  # noqa: F401  (fixture)


@pytest.fixture
def home(tmp_path, fixture_warehouse) -> DataHome:
    home = DataHome(tmp_path / "home").ensure()
    shutil.copy(fixture_warehouse, home.warehouse)
    return home


def _query(path, sql):
    con = duck.connect(path, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_every_manifest_verifies_and_describes_its_dataset(home):
    execute(home.warehouse, "COMMENT ON COLUMN marts.city_bod5_kpi.capacity_share_pct IS "
                            "'BOD5>100 mg/L 的城市污水处理厂设计规模占比（%）。share of capacity'")
    publication = publish(home, WarehouseResource(path=str(home.warehouse)).reader, run_id="run-A")
    extracts = home.extracts / "all"
    assert verify_extracts(extracts) == []
    marts = mart_names(home.warehouse)
    assert sorted(m["dataset"] for m in publication.manifests) == marts
    for mart in marts:
        manifest = json.loads((extracts / f"{mart}.manifest.json").read_text(encoding="utf-8"))
        file = extracts / manifest["file"]
        assert manifest["sha256"] == hashlib.sha256(file.read_bytes()).hexdigest()
        assert manifest["bytes"] == file.stat().st_size
        assert manifest["run_id"] == "run-A" and manifest["generated_at"]
        (rows,) = _query(home.warehouse, f"SELECT count(*) FROM marts.{mart}")[0]
        assert manifest["row_count"] == rows == pq.read_metadata(file).num_rows
        assert [c["name"] for c in manifest["schema"]] == pq.read_schema(file).names
        assert pq.read_metadata(file).row_group(0).column(0).compression == "ZSTD"
    kpi = json.loads((extracts / "city_bod5_kpi.manifest.json").read_text(encoding="utf-8"))
    assert next(c for c in kpi["schema"] if c["name"] == "capacity_share_pct")["description"].startswith("BOD5>100")
    # geometry is GeoParquet, with the warehouse's CRS (a bare GEOMETRY would read as lon/lat)
    geo = json.loads(pq.read_metadata(extracts / "pipe_segments.parquet").metadata[b"geo"])
    assert geo["columns"]["geometry"]["crs"]["id"] == {"authority": "EPSG", "code": 4549}
    # the published copy: the same rows, the Chinese comments, the publication record
    assert _query(home.published, "SELECT comment FROM duckdb_columns() WHERE table_name = 'city_bod5_kpi' "
                                  "AND column_name = 'capacity_share_pct'")[0][0].startswith("BOD5>100")
    recorded = dict(_query(home.published, "SELECT dataset, sha256 FROM meta.publication"))
    assert recorded == {m["dataset"]: m["sha256"] for m in publication.manifests}
    assert not list(home.published_dir.glob("*.wal"))


def test_personal_fields_are_masked_in_extracts_and_published_copy(home):
    execute(home.warehouse, "UPDATE marts.discharger_profile SET holder_is_individual = true WHERE name = '丙餐饮'")
    publication = publish(home, WarehouseResource(path=str(home.warehouse)).reader, run_id="run-B")
    manifest = next(m for m in publication.manifests if m["dataset"] == "discharger_profile")
    assert manifest["masked_columns"] == ["name"]
    names = {r[0] for r in _query(home.published, "SELECT name FROM marts.discharger_profile")}
    assert "丙**" in names and "丙餐饮" not in names and "甲公司" in names
    con = duck.connect()
    try:
        extract = {r[0] for r in con.execute(
            f"SELECT name FROM '{home.extracts / 'all' / 'discharger_profile.parquet'}'").fetchall()}
    finally:
        con.close()
    assert extract == names


def _state(home):
    return (hashlib.sha256(home.published.read_bytes()).hexdigest(), os.readlink(home.extracts / "all"),
            sorted(p.name for p in (home.extracts / ".versions").iterdir()))


def test_a_leak_is_refused_and_the_last_good_version_stays(home):
    publish(home, WarehouseResource(path=str(home.warehouse)).reader, run_id="good")
    before = _state(home)
    # an enforcement officer's name (raw.enforcement.officer_names) finds its way into a mart
    execute(home.warehouse, "UPDATE marts.project_portfolio SET project_name = '张三' WHERE project_id = 'PJ-001'")
    with pytest.raises(PersonalDataLeak, match="project_portfolio.project_name"):
        publish(home, WarehouseResource(path=str(home.warehouse)).reader, run_id="leaky")
    assert _state(home) == before
    assert not [p for p in home.published_dir.iterdir() if p.name != "sewershare.duckdb"]


def test_a_failure_while_writing_leaves_the_last_good_version(home):
    publish(home, WarehouseResource(path=str(home.warehouse)).reader, run_id="good")
    before = _state(home)
    execute(home.warehouse, "CREATE VIEW marts.zz_broken AS SELECT CAST(v AS INTEGER) AS n FROM (VALUES ('x')) t(v)")
    with pytest.raises(Exception, match="Conversion"):
        publish(home, WarehouseResource(path=str(home.warehouse)).reader, run_id="broken")
    assert _state(home) == before
    assert verify_extracts(home.extracts / "all") == []


def test_old_versions_are_pruned(home):
    for i in range(3):
        # each publication with data of its own (unchanged data publishes no new version)
        execute(home.warehouse, f"UPDATE marts.district_progress SET inspected_length_m = inspected_length_m + {i + 1}")
        publish(home, WarehouseResource(path=str(home.warehouse)).reader, run_id=f"run-{i}", keep=2)
    versions = sorted(p.name for p in (home.extracts / ".versions").iterdir())
    assert len(versions) == 2 and os.readlink(home.extracts / "all").endswith(versions[-1])
    assert versions[-1].endswith("run-2")


def test_descriptions_come_from_the_marts_yaml(tmp_path):
    (tmp_path / "marts.yml").write_text(
        "version: 2\nmodels:\n  - name: pipe_segments\n    description: 管段\n    columns:\n"
        "      - name: ri\n        description: 修复指数 RI\n        meta: {personal: false}\n", encoding="utf-8")
    docs = from_yaml(tmp_path)
    assert docs["pipe_segments"].description == "管段" and docs["pipe_segments"].columns["ri"] == "修复指数 RI"
