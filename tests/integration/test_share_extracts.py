"""Per-recipient extracts: exactly the rows and masking each recipient is due, the formats, stable versions."""
from __future__ import annotations

import csv
import html
import json

import openpyxl
import pyarrow.parquet as pq

from pipelines import duck
from pipelines.hashing import sha256_file
from pipelines.publish.writer import publish
from pipelines.share.config import load_recipients, load_sharing_config
from pipelines.share.extracts import current_manifest, recipient_dir, versions, write_recipient_extracts
from share_support import INDIVIDUAL, copy_home, reader, shared_home  # noqa: F401  (fixture)
from test_quality_support import execute, fixture_warehouse  # noqa: F401  (fixture)


def _rows(sql, warehouse=None):
    con = duck.connect(extensions=())
    try:
        if warehouse:
            con.execute(f"ATTACH '{warehouse}' AS wh (READ_ONLY)")
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _non_geometry(path):
    return [f.name for f in pq.read_schema(path) if f.name != "geometry"]


def test_every_recipient_gets_exactly_its_rows_and_masking(shared_home):
    """Expected rows are selected here from the warehouse with the filter written by hand: a district government
    gets ``district_code = its code`` where the mart has that column, everyone else every row; the one personal
    value (丙餐饮) is masked to 丙** for all but the two bureaus owning discharger_profile."""
    config = load_sharing_config()
    con = duck.connect(extensions=())   # one connection for the ~800 comparisons
    con.execute(f"ATTACH '{shared_home.warehouse}' AS wh (READ_ONLY)")

    def q(sql):
        return con.execute(sql).fetchall()

    for rid, person in load_recipients().items():
        for mart, cfg in config.datasets.items():
            manifest = current_manifest(shared_home, rid, mart)
            assert manifest is not None, (rid, mart)   # no 不予共享 dataset in the configuration
            path = recipient_dir(shared_home, rid) / mart / "current" / manifest["file"]
            cols = _non_geometry(path)
            where = "TRUE"
            if person.kind == "district_government" and "district_code" in cols:
                where = f"district_code = '{person.district_code}'"
            keep = ", ".join(f'"{c}"' for c in cols if not (mart == "discharger_profile" and c == "name"))
            wanted = f"SELECT {keep} FROM wh.marts.{mart} WHERE {where}"
            got = f"SELECT {keep} FROM '{path}'"
            assert q(f"SELECT count(*) FROM (({wanted}) EXCEPT ALL ({got}))")[0][0] == 0, (rid, mart)
            assert q(f"SELECT count(*) FROM (({got}) EXCEPT ALL ({wanted}))")[0][0] == 0, (rid, mart)
            assert manifest["row_count"] == q(f"SELECT count(*) FROM ({wanted})")[0][0]
            assert manifest["sha256"] == sha256_file(path)[0]
            assert manifest["row_filter"] == ({"district_code": person.district_code} if where != "TRUE" else {})
            if mart == "discharger_profile":
                names = {r[0] for r in q(f"SELECT name FROM '{path}'")}
                owner = rid in ("ecology_environment", "urban_management")
                assert manifest["masked_columns"] == ([] if owner else ["name"])
                if person.kind != "district_government" or person.district_code == "331002":  # 丙餐饮 is in 椒江
                    assert (INDIVIDUAL in names) == owner and ("丙**" in names) == (not owner), rid


def _text_of(path, con):
    if path.suffix == ".parquet":
        cols = ", ".join(f'"{c}"' for c in _non_geometry(path))
        return json.dumps(con.execute(f"SELECT {cols} FROM '{path}'").fetchall(), ensure_ascii=False, default=str)
    if path.suffix == ".xlsx":
        wb = openpyxl.load_workbook(path, read_only=True)
        return json.dumps([list(r) for ws in wb for r in ws.iter_rows(values_only=True)], ensure_ascii=False,
                          default=str)
    return path.read_text(encoding="utf-8")


def test_no_personal_value_reaches_a_non_owner_in_any_format(shared_home):
    con = duck.connect(extensions=())
    for rid in load_recipients():
        owner = rid in ("ecology_environment", "urban_management")
        for path in sorted(recipient_dir(shared_home, rid).rglob("current/*")):
            if owner and "discharger_profile" in str(path):
                continue
            assert INDIVIDUAL not in _text_of(path, con), path


def test_formats_manifest_dictionary_and_geojson(shared_home):
    base = recipient_dir(shared_home, "gov_331002") / "pipe_segments" / "current"
    manifest = json.loads((base / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["资源代码"] == load_sharing_config().code("pipe_segments") and manifest["数据分级"] == "重要"
    # the feeds the mart's description names: census, inspections, misconnections, upgrade projects
    assert {"census_pipes", "inspections", "misconnections", "upgrade_projects"} <= set(manifest["source_versions"])
    assert {f["name"] for f in manifest["files"]} == {"pipe_segments.parquet", "pipe_segments.csv",
                                                      "pipe_segments.xlsx", "pipe_segments.geojson", "dictionary.csv"}
    for f in manifest["files"]:
        assert sha256_file(base / f["name"])[0] == f["sha256"]
    geo = json.loads((base / "pipe_segments.geojson").read_text(encoding="utf-8"))
    assert geo["crs"]["properties"]["name"] == "urn:ogc:def:crs:EPSG::4490"
    assert len(geo["features"]) == manifest["row_count"]
    lon, lat = geo["features"][0]["geometry"]["coordinates"][0]
    assert 118.5 < lon < 122.5 and 27.5 < lat < 29.8  # Taizhou, lon/lat order
    assert json.loads(pq.read_metadata(base / "pipe_segments.parquet").metadata[b"geo"])["columns"]["geometry"][
        "crs"]["id"] == {"authority": "EPSG", "code": 4549}
    with open(base / "dictionary.csv", encoding="utf-8-sig") as fh:
        dictionary = {r["字段名"]: r for r in csv.DictReader(fh)}
    assert dictionary["segment_id"]["中文名称"] == "管段编号" and dictionary["geometry"]["数据分级"] == "重要"
    header = (base / "pipe_segments.csv").read_bytes()[:60].decode("utf-8", errors="ignore")
    assert header.startswith("\ufeff管段编号,区县代码")   # BOM + Chinese headers


def test_spreadsheet_copies_neutralise_formulas(shared_home, tmp_path):
    home = copy_home(shared_home, tmp_path / "home")
    execute(home.warehouse, "UPDATE marts.project_portfolio SET project_name = '=HYPERLINK(\"http://x\",\"点我\")' "
                            "WHERE project_id = 'PJ-001'")
    publish(home, reader(home), run_id="formula")
    write_recipient_extracts(home, reader(home), recipients=["finance"], datasets=["project_portfolio"])
    base = recipient_dir(home, "finance") / "project_portfolio" / "current"
    with open(base / "project_portfolio.csv", encoding="utf-8-sig") as fh:
        names = [r["项目名称"] for r in csv.DictReader(fh)]
    assert "'=HYPERLINK(\"http://x\",\"点我\")" in names
    ws = openpyxl.load_workbook(base / "project_portfolio.xlsx").active
    cells = [c.value for row in ws.iter_rows() for c in row]
    assert "'=HYPERLINK(\"http://x\",\"点我\")" in cells and not any(
        isinstance(c, str) and c.startswith("=") for c in cells)
    # Parquet keeps the value as it is: only spreadsheet copies are neutralised
    assert _rows(f"SELECT count(*) FROM '{base / 'project_portfolio.parquet'}' WHERE project_name LIKE '=HYP%'")[0][0] == 1


def test_an_unchanged_dataset_keeps_its_version_and_checksum(shared_home, tmp_path):
    home = copy_home(shared_home, tmp_path / "home")
    before = {(r, m): current_manifest(home, r, m) for r in ("finance", "gov_331002") for m in
              ("problem_pipes", "district_progress")}
    again = write_recipient_extracts(home, reader(home))
    assert again.new_versions == 0
    # one change in 椒江's problem register: a new version for recipients who see that row, none for the others
    execute(home.warehouse, "UPDATE marts.problem_pipes SET status = 'rectified' WHERE segment_id = "
                            "(SELECT min(segment_id) FROM marts.problem_pipes WHERE district_code = '331002')")
    publish(home, reader(home), run_id="changed")
    result = write_recipient_extracts(home, reader(home), recipients=["finance", "gov_331002", "gov_331003"])
    assert result.written == {"finance": ["problem_pipes"], "gov_331002": ["problem_pipes"]}
    after = {(r, m): current_manifest(home, r, m) for r, m in before}
    assert after[("finance", "district_progress")] == before[("finance", "district_progress")]
    assert after[("finance", "problem_pipes")]["version"] == before[("finance", "problem_pipes")]["version"] + 1
    assert [v["version"] for v in versions(home, "finance", "problem_pipes")] == [2, 1]


def test_sharing_refuses_a_warehouse_ahead_of_publication(shared_home, tmp_path):
    home = copy_home(shared_home, tmp_path / "home")
    execute(home.warehouse, "DELETE FROM marts.problem_pipes WHERE district_code = '331002'")
    import pytest

    from pipelines.share.extracts import ShareError
    with pytest.raises(ShareError, match="problem_pipes"):
        write_recipient_extracts(home, reader(home))


TRIGGERS = ["=", "+", "-", "@", "\t", "\r"]


def _formula_like(cell) -> bool:
    """A text cell starting with a trigger; numbers (a negative DOUBLE written "-11") are numbers, untouched."""
    if not isinstance(cell, str) or cell[:1] not in TRIGGERS:
        return False
    try:
        float(cell)
        return False
    except ValueError:
        return True


def test_every_text_export_neutralises_each_formula_prefix(shared_home, tmp_path):
    """Issue 14: the six prefixes of OWASP's CSV-injection rule (= + - @ tab CR), each put at the start of a
    project name and a road name, reach the CSV, the xlsx and the GeoJSON properties as "'" + the value; the
    portal's pages and the report's tables show them the same way; no text cell of any export starts with a
    trigger."""
    from pipelines.report.build import _e
    from pipelines.share.portal import TEMPLATES

    home = copy_home(shared_home, tmp_path / "home")
    ids = [r[0] for r in _rows("SELECT project_id FROM wh.marts.project_portfolio ORDER BY 1 LIMIT 6", home.warehouse)]
    segs = [r[0] for r in _rows("SELECT segment_id FROM wh.marts.pipe_segments ORDER BY 1 LIMIT 6", home.warehouse)]
    assert len(ids) == len(segs) == 6
    for t, pid, seg in zip(TRIGGERS, ids, segs):
        execute(home.warehouse, f"UPDATE marts.project_portfolio SET project_name = {t!r} || 'cmd|calc' "
                                f"WHERE project_id = '{pid}'".replace("'\\t'", "chr(9)").replace("'\\r'", "chr(13)"))
        execute(home.warehouse, f"UPDATE marts.pipe_segments SET road_name = {t!r} || 'cmd|calc' "
                                f"WHERE segment_id = '{seg}'".replace("'\\t'", "chr(9)").replace("'\\r'", "chr(13)"))
    publish(home, reader(home), run_id="formulas")
    write_recipient_extracts(home, reader(home), recipients=["finance", "gov_331002"],
                             datasets=["project_portfolio", "pipe_segments"])
    expected = {"'" + t + "cmd|calc" for t in TRIGGERS}

    def cells_of(folder, mart):
        with open(folder / f"{mart}.csv", encoding="utf-8-sig", newline="") as fh:
            csv_cells = [c for row in csv.reader(fh) for c in row]
        xlsx_cells = [c.value for row in openpyxl.load_workbook(folder / f"{mart}.xlsx").active.iter_rows() for c in row]
        return csv_cells, xlsx_cells

    portfolio = recipient_dir(home, "finance") / "project_portfolio" / "current"
    for cells in cells_of(portfolio, "project_portfolio"):
        # an XML reader turns a CR into LF (XML 1.0 §2.11, end-of-line handling): compare with line ends unified
        unified = {c.replace("\r", "\n") for c in cells if isinstance(c, str)}
        assert {e.replace("\r", "\n") for e in expected} <= unified
        assert not [c for c in cells if _formula_like(c)]
    segments = recipient_dir(home, "gov_331002") / "pipe_segments" / "current"
    if (segments / "pipe_segments.csv").exists():
        for cells in cells_of(segments, "pipe_segments"):
            assert not [c for c in cells if _formula_like(c)]
    geo = json.loads((segments / "pipe_segments.geojson").read_text(encoding="utf-8"))
    props = [v for f in geo["features"] for v in f["properties"].values() if isinstance(v, str)]
    assert not [v for v in props if _formula_like(v)]
    assert "'=cmd|calc" in props
    # the portal's pages and the report's tables
    page = TEMPLATES.env.from_string("<td>{{ v }}</td>")
    for t in TRIGGERS:
        # what the browser shows (HTML-escaped on the page: ' is &#39;)
        assert html.unescape(page.render(v=t + "cmd")) == "<td>'" + t + "cmd</td>"
        assert html.unescape(_e(t + "cmd")) == "'" + t + "cmd"
    assert page.render(v=-5) == "<td>-5</td>" and _e(-5) == "-5"     # numbers stay numbers
