"""The resource catalogue: every shared dataset has an entry, a grade and Chinese names; the xlsx lists them all."""
from __future__ import annotations

import shutil

import openpyxl
import pytest

from pipelines import duck
from pipelines.home import DataHome
from pipelines.share.catalogue import CatalogueError, build_catalogue
from pipelines.share.config import GRADES, SHARE_TYPES, load_sharing_config
from pipelines.share.dictionary import CJK, mart_infos
from share_support import copy_home, shared_home  # noqa: F401  (fixture)
from test_quality_support import execute, fixture_warehouse  # noqa: F401  (fixture)


def test_every_mart_has_an_entry_a_grade_and_chinese_names():
    """Against the dbt manifest alone: a new mart or column without its entry fails here."""
    config = load_sharing_config()
    infos = mart_infos()
    assert set(infos) == set(config.datasets), "每个 mart 必须在 sharing/datasets.yml 中有条目，且没有多余条目"
    for mart, info in infos.items():
        cfg = config.datasets[mart]
        assert cfg.grade in GRADES and cfg.share_type in SHARE_TYPES
        assert set(cfg.column_grades) <= set(info.columns), f"{mart}: column_grades names unknown columns"
        assert CJK.search(info.zh), f"{mart}: no Chinese 资源名称"
        for col, ci in info.columns.items():
            assert CJK.search(ci.zh), f"{mart}.{col}: no Chinese name"
    codes = [config.code(m) for m in config.datasets]
    assert len(set(codes)) == len(codes)


def _published_columns(home):
    con = duck.connect(home.published, read_only=True, extensions=())
    try:
        return con.execute("SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'marts'"
                           ).fetchall()
    finally:
        con.close()


def test_catalogue_xlsx_lists_every_shared_dataset_with_share_type_and_grade(shared_home):
    config = load_sharing_config()
    published = _published_columns(shared_home)
    marts = sorted({t for t, _ in published})
    wb = openpyxl.load_workbook(shared_home.root / "share" / "catalogue.xlsx")
    sheet = wb["共享目录"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, [c.value for c in r])) for r in sheet.iter_rows(min_row=2)]
    by_code = {r["资源代码"]: r for r in rows}
    assert sorted(by_code) == sorted(config.code(m) for m in marts)
    for mart in marts:
        row, cfg = by_code[config.code(mart)], config.datasets[mart]
        assert row["共享类型"] == SHARE_TYPES[cfg.share_type]
        # the dataset's grade is its highest column grade: only pipe_segments raises one (geometry 重要)
        assert row["数据分级"] == ("重要" if mart == "pipe_segments" else cfg.grade)
        assert row["资源名称"] and row["提供方"] and row["更新周期"] and row["发布日期"]
    items = wb["信息项"]
    ih = [c.value for c in items[1]]
    item_rows = [dict(zip(ih, [c.value for c in r])) for r in items.iter_rows(min_row=2)]
    assert len(item_rows) == len(published)
    assert all(r["中文名称"] and r["数据分级"] in GRADES for r in item_rows)
    # the one personal column of the fixture: an individual business's name in discharger_profile
    assert {(r["资源代码"], r["字段名"]) for r in item_rows if r["个人信息"] == "是"} == {
        (config.code("discharger_profile"), "name")}


def test_a_dataset_or_column_without_entry_or_chinese_name_fails(shared_home, tmp_path):
    home = copy_home(shared_home, tmp_path / "home")
    execute(home.published, "ALTER TABLE marts.city_bod5_kpi ADD COLUMN undocumented INTEGER; "
                            "CREATE TABLE marts.new_mart AS SELECT 1 AS x")
    with pytest.raises(CatalogueError) as err:
        build_catalogue(home)
    assert "city_bod5_kpi.undocumented" in str(err.value) and "new_mart" in str(err.value)
