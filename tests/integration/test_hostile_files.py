"""Hostile and broken deliveries (issue 14): every landing entry ends registered, loaded or rejected with a
bilingual reason, and the feed's later files still load.

The corpus is generated at test time (some files are megabytes) from the hand-written bureau files of
``tests/corpus`` (the controls; their record counts are the hand counts of ``tests/corpus/expected.yml``):
oversize fields and lines, absurd spreadsheet ranges, zip bombs and nesting, links, dot-files, folders and
FIFOs, empty and header-only files of every format, mixed line endings, NUL bytes, invalid encodings, NaN and
infinite coordinates, deep JSON. Each feed's landing gets every hostile file first and a control file
last (latest mtime), so a hostile file that stopped the feed would leave the control unloaded.
"""
from __future__ import annotations

import dataclasses
import json
import os
import time
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from pipelines.contracts import load_contracts
from pipelines.hashing import sha256_file
from pipelines.home import DataHome
from tests.fixtures.ingest_files import query

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
CSV_CONTROL = CORPUS / "drainage_permits" / "黄岩区_城镇污水排入排水管网许可台账.csv"    # 7 records, BOM, CRLF
GEO_CONTROL = CORPUS / "census_pipes" / "椒江区_污水雨水管段普查成果_202406.geojson"     # 19 records, 17 usable
LOG_CONTROL = CORPUS / "plant_online" / "331002-WS-01_出口_CN2061_20240610.log"          # 26 records, 23 usable
XLSX_CONTROL = CORPUS / "enforcement" / "市生态环境局_环境执法记录_2024.xlsx"            # 9 records

T0 = time.time() - 3600


def _put(path: Path, data: bytes | str, order: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    os.utime(path, (T0 + order, T0 + order))
    return path


def _minimal_xlsx(path: Path, sheet_xml: str, order: int) -> Path:
    """An .xlsx written part by part (as a hand-rolled exporter would): no styles, no <dimension> unless the
    sheet XML has one."""
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
        'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
        'openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        '</Relationships>',
        "xl/worksheets/sheet1.xml": sheet_xml,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in parts.items():
            zf.writestr(name, text)
    os.utime(path, (T0 + order, T0 + order))
    return path


SHEET = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
         '2006/main">{dimension}<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>案件编号</t></is></c></row>'
         '{far}</sheetData></worksheet>')


def build(home: DataHome, outside: Path) -> dict[str, dict[str, str]]:
    """Write the hostile corpus into the landing folders; returns {feed: {file name: what it is}}."""
    made: dict[str, dict[str, str]] = {}

    def put(feed: str, name: str, data, what: str, order: int) -> Path:
        made.setdefault(feed, {})[name] = what
        return _put(home.landing_for(feed) / name, data, order)

    # ---- CSV (drainage permits) ----
    csv_bytes = CSV_CONTROL.read_bytes()
    lines = csv_bytes.split(b"\r\n")
    header, first = lines[0], lines[1]
    put("drainage_permits", "empty.csv", b"", "empty", 1)
    put("drainage_permits", "blanks.csv", b"\r\n \r\n\t\r\n", "empty", 2)
    put("drainage_permits", "header_only.csv", header + b"\r\n", "header only", 3)
    stray = csv_bytes.replace(b"\r\n", b"\n", 1)              # CRLF file, one row ended by a bare LF (hand edit)
    put("drainage_permits", "stray_lf.csv", stray, "CRLF with one stray LF", 4)
    wide = first.split(b",")
    wide[1] = "宏".encode() * 70_000                          # a 210 KB cell (70,000 characters × 3 bytes)
    put("drainage_permits", "big_cell.csv", header + b"\r\n" + b",".join(wide) + b"\r\n", "210 KB cell", 5)
    put("drainage_permits", "one_line.csv", b"x" * 5_000_000, "a 5 MB single line", 6)
    put("drainage_permits", "field_over_limit.csv", header + b"\r\n\"" + b"y" * 140_000 + b"," * 3 + b"\"\r\n",
        "one field of 140,000 characters", 7)
    put("drainage_permits", "nul.csv", header + b"\r\n" + first.replace(b",", b"\x00,", 2) + b"\r\n", "NUL bytes", 8)
    put("drainage_permits", "latin1.csv", header + b"\r\n" + bytes(range(0x80, 0x100)) * 40 + b"\r\n",
        "invalid encoding", 9)
    put("drainage_permits", "is_zip.csv", b"PK\x03\x04" + os.urandom(2000), "binary named .csv", 10)
    put("drainage_permits", ".DS_Store", b"\x00\x00\x00\x01Bud1" + b"\x00" * 100, "dot-file", 11)
    put("drainage_permits", ".~lock.台账.csv#", b"user,host", "dot-file lock", 12)
    put("drainage_permits", "说明.txt", "请查收", "unknown name", 13)
    target = _put(outside / "elsewhere.csv", csv_bytes, 0)
    link = home.landing_for("drainage_permits") / "link_outside.csv"
    link.symlink_to(target)
    made["drainage_permits"]["link_outside.csv"] = "symlink to a CSV outside the home"
    (home.landing_for("drainage_permits") / "passwd.csv").symlink_to("/etc/passwd")
    made["drainage_permits"]["passwd.csv"] = "symlink to /etc/passwd"
    (home.landing_for("drainage_permits") / "dangling.csv").symlink_to(outside / "nothing.csv")
    made["drainage_permits"]["dangling.csv"] = "dangling symlink"
    (home.landing_for("drainage_permits") / "folder.csv").mkdir()
    _put(home.landing_for("drainage_permits") / "folder.csv" / "inner.csv", csv_bytes, 14)
    made["drainage_permits"]["folder.csv"] = "a folder"
    os.mkfifo(home.landing_for("drainage_permits") / "pipe.csv")
    made["drainage_permits"]["pipe.csv"] = "a FIFO (reading it would hang)"
    put("drainage_permits", "zz_control.csv", csv_bytes, "control", 100)

    # ---- xlsx (enforcement) ----
    put("enforcement", "empty.xlsx", b"", "empty", 1)
    _minimal_xlsx(home.landing_for("enforcement") / "far_cell.xlsx",
                  SHEET.format(dimension="", far='<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t>'
                                                 '</is></c></row>'), 2)
    made["enforcement"]["far_cell.xlsx"] = "a cell at XFD1048576, no <dimension>"
    _minimal_xlsx(home.landing_for("enforcement") / "claims_a_million_rows.xlsx",
                  SHEET.format(dimension='<dimension ref="A1:ZZ1048576"/>', far=""), 3)
    made["enforcement"]["claims_a_million_rows.xlsx"] = "<dimension> claims a million rows"
    wb = load_workbook(XLSX_CONTROL)
    ws = wb.active
    head = [c.value for c in next(ws.iter_rows(min_row=1, max_row=1))]
    only = Workbook()
    only.active.append(head)
    only.save(home.landing_for("enforcement") / "header_only.xlsx")
    os.utime(home.landing_for("enforcement") / "header_only.xlsx", (T0 + 4, T0 + 4))
    made["enforcement"]["header_only.xlsx"] = "header only"
    put("enforcement", "truncated.xlsx", XLSX_CONTROL.read_bytes()[:3000], "truncated zip", 5)
    put("enforcement", "~$执法记录.xlsx", b"\x0bowner" + b"\x00" * 150, "Office lock file", 6)
    put("enforcement", "zz_control.xlsx", XLSX_CONTROL.read_bytes(), "control", 100)

    # ---- GeoJSON / zip (census pipes) ----
    geo = GEO_CONTROL.read_text(encoding="utf-8")
    put("census_pipes", "empty.geojson", b"", "empty", 1)
    put("census_pipes", "no_features.geojson", '{"type": "FeatureCollection", "features": []}', "no features", 2)
    put("census_pipes", "nan.geojson", geo.replace("[ 121.43000, 28.68000 ]", "[ NaN, 28.68000 ]", 1),
        "a NaN coordinate", 3)
    put("census_pipes", "inf.geojson", geo.replace("[ 121.43000, 28.68000 ]", "[ 1e999, 28.68000 ]", 1),
        "an infinite coordinate", 4)
    deep = '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"a":' + "[" * 200_000 \
        + "]" * 200_000 + '},"geometry":null}]}'
    put("census_pipes", "deep.geojson", deep, "JSON nested 200,000 deep", 5)
    put("census_pipes", "nul.geojson", geo[:500].encode() + b"\x00" * 64 + geo[500:].encode(), "NUL bytes", 6)
    bomb = home.landing_for("census_pipes") / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("管段.shp", b"\x00" * 50_000_000)            # 50 MB of zeros → ~50 KB: ratio ~1000
        zf.writestr("管段.dbf", b"\x00" * 100)
    os.utime(bomb, (T0 + 7, T0 + 7))
    made["census_pipes"]["bomb.zip"] = "zip bomb (ratio ~1000)"
    nested = home.landing_for("census_pipes") / "nested.zip"
    with zipfile.ZipFile(nested, "w") as zf:
        zf.writestr("inner.zip", (CORPUS / "census_pipes" / "黄岩区_管段普查_2024.zip").read_bytes())
    os.utime(nested, (T0 + 8, T0 + 8))
    made["census_pipes"]["nested.zip"] = "zip in a zip"
    put("census_pipes", "zz_control.geojson", geo, "control", 100)

    # ---- HJ 212 logs (plant online) ----
    log = LOG_CONTROL.read_bytes()
    put("plant_online", "empty.log", b"", "empty", 1)
    put("plant_online", "blank_lines.log", b"\r\n\r\n", "empty", 2)
    put("plant_online", "nul.log", log[:200] + b"\x00" + log[200:], "NUL bytes", 3)
    put("plant_online", "long_line.log", b"##9999" + b"A" * 5_000_000 + b"\r\n", "a 5 MB line", 4)
    put("plant_online", ".partial.log", log[:100], "dot-file", 5)
    put("plant_online", "zz_control.log", log, "control", 100)
    return made


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    from pipelines import duck
    from pipelines.ingest import ingest_feed

    root = tmp_path_factory.mktemp("hostile")
    home = DataHome(root / "home").ensure()
    outside = root / "outside"
    made = build(home, outside)
    passwd_sha = sha256_file(Path("/etc/passwd"))[0]
    results, seconds = {}, {}
    con = duck.connect(home.warehouse)
    try:
        for feed in made:
            started = time.perf_counter()
            results[feed] = ingest_feed(load_contracts()[feed], home, con, f"hostile-{feed}", strict=False)
            seconds[feed] = time.perf_counter() - started
    finally:
        con.close()
    registry = {(feed, name): (status, rows_read, rows_loaded, rows_quarantined, error, sha, stored)
                for feed, name, status, rows_read, rows_loaded, rows_quarantined, error, sha, stored in query(
                    home, "SELECT feed, file_name, status, rows_read, rows_loaded, rows_quarantined, error, sha256, "
                          "stored_as FROM audit.file_registry")}
    seconds["files"] = dict(((f, n), s) for f, n, s in query(
        home, "SELECT feed, file_name, seconds FROM audit.file_registry"))
    return dict(home=home, made=made, results=results, registry=registry, outside=outside, passwd_sha=passwd_sha,
                seconds=seconds)


def test_every_entry_ends_registered_and_landing_is_empty(hostile):
    home, made, registry = hostile["home"], hostile["made"], hostile["registry"]
    for feed, files in made.items():
        for name, what in files.items():
            assert (feed, name) in registry, f"{feed}/{name} ({what}) was not registered"
            status, *_, error, _, stored = registry[(feed, name)]
            assert status in ("loaded", "rejected"), (name, status)
            if status == "rejected":
                # bilingual: Chinese for the bureau, English after it
                assert " / " in error and any("\u4e00" <= ch <= "\u9fff" for ch in error.split(" / ")[0]), error
                assert stored and Path(stored).exists(), name
        left = sorted(p.name for p in home.landing_for(feed).iterdir())
        assert left == [], f"{feed}: left in landing: {left}"
        # no file of the feed is failed or deferred: nothing waits for a later run
        assert {f.status for f in hostile["results"][feed].files} <= {"loaded", "rejected"}


def test_controls_after_the_hostile_files_still_load(hostile):
    """Hand counts of tests/corpus/expected.yml: 7, 19 (17 usable), 26 (23 usable), 9 records."""
    reg = hostile["registry"]
    assert reg[("drainage_permits", "zz_control.csv")][:2] == ("loaded", 7)
    assert reg[("census_pipes", "zz_control.geojson")][:2] == ("loaded", 19)
    assert reg[("plant_online", "zz_control.log")][:2] == ("loaded", 26)
    assert reg[("enforcement", "zz_control.xlsx")][:2] == ("loaded", 9)


def test_a_crlf_csv_with_one_stray_lf_loads_every_record(hostile):
    """The control has 7 records; making one CRLF a bare LF changes no record."""
    status, rows_read, rows_loaded, rows_quarantined, *_ = hostile["registry"][("drainage_permits", "stray_lf.csv")]
    assert (status, rows_read, rows_loaded + rows_quarantined) == ("loaded", 7, 7)
    assert rows_loaded == hostile["registry"][("drainage_permits", "zz_control.csv")][2]


def test_oversize_cells_and_lines_are_registered(hostile):
    reg = hostile["registry"]
    # the 210 KB holder name: one record, read (the Python csv limit of 131,072 characters no longer applies)
    assert reg[("drainage_permits", "big_cell.csv")][:2] == ("loaded", 1)
    assert reg[("drainage_permits", "field_over_limit.csv")][0] in ("loaded", "rejected")
    # a single 5 MB line holds no header
    assert reg[("drainage_permits", "one_line.csv")][0] == "rejected"
    assert "表头" in reg[("drainage_permits", "one_line.csv")][4]
    # a 5 MB log line is one record whose frame is bad: quarantined, not a reason to stop
    assert reg[("plant_online", "long_line.log")][:4] == ("loaded", 1, 0, 1)


@pytest.mark.parametrize("feed,name,words", [
    ("drainage_permits", "empty.csv", "文件为空"),
    ("drainage_permits", "blanks.csv", "文件为空"),
    ("enforcement", "empty.xlsx", "文件为空"),
    ("census_pipes", "empty.geojson", "文件为空"),
    ("plant_online", "empty.log", "文件为空"),
    ("plant_online", "blank_lines.log", "文件为空"),
    ("drainage_permits", "nul.csv", "二进制"),
    ("drainage_permits", "latin1.csv", "编码"),
    ("drainage_permits", "is_zip.csv", "损坏"),
    ("drainage_permits", ".DS_Store", "隐藏文件"),
    ("drainage_permits", ".~lock.台账.csv#", "隐藏文件"),
    ("plant_online", ".partial.log", "隐藏文件"),
    ("enforcement", "~$执法记录.xlsx", "锁定文件"),
    ("drainage_permits", "说明.txt", "文件类型不符"),
    ("drainage_permits", "link_outside.csv", "符号链接"),
    ("drainage_permits", "passwd.csv", "符号链接"),
    ("drainage_permits", "dangling.csv", "符号链接"),
    ("drainage_permits", "folder.csv", "不是普通文件"),
    ("drainage_permits", "pipe.csv", "不是普通文件"),
    ("enforcement", "far_cell.xlsx", "单元格"),
    ("enforcement", "claims_a_million_rows.xlsx", "单元格"),
    ("enforcement", "truncated.xlsx", "损坏"),
    ("census_pipes", "deep.geojson", "无法"),
    ("census_pipes", "nul.geojson", "NUL"),
    ("census_pipes", "bomb.zip", "压缩炸弹"),
    ("census_pipes", "nested.zip", "嵌套"),
    ("plant_online", "nul.log", "二进制"),
])
def test_refused_files_name_why(hostile, feed, name, words):
    status, *_, error, _, _ = hostile["registry"][(feed, name)]
    assert status == "rejected" and words in error, error


@pytest.mark.parametrize("feed,name", [("drainage_permits", "header_only.csv"),
                                       ("enforcement", "header_only.xlsx"),
                                       ("census_pipes", "no_features.geojson")])
def test_structure_without_records_loads_zero_records(hostile, feed, name):
    """Empty files are rejected alike in every format (above); a file that states its structure and holds no
    record (a header row, a FeatureCollection without features) is a delivery of nothing: loaded, 0 records."""
    assert hostile["registry"][(feed, name)][:4] == ("loaded", 0, 0, 0)


def test_links_are_never_followed(hostile):
    """The link's target outside the home is neither moved nor hashed; /etc/passwd is not hashed either;
    rejected/ holds a note naming the target, never a link."""
    reg, outside = hostile["registry"], hostile["outside"]
    assert (outside / "elsewhere.csv").read_bytes() == CSV_CONTROL.read_bytes()
    control_sha = sha256_file(CSV_CONTROL)[0]
    for name in ("link_outside.csv", "passwd.csv", "dangling.csv"):
        *_, sha, stored = reg[("drainage_permits", name)]
        assert sha not in (control_sha, hostile["passwd_sha"])
        assert not Path(stored).is_symlink() and Path(stored).is_file()
    assert "/etc/passwd" in Path(reg[("drainage_permits", "passwd.csv")][6]).read_text(encoding="utf-8")
    for feed in hostile["made"]:
        for folder in (hostile["home"].rejected / feed, hostile["home"].archive / feed):
            assert not any(p.is_symlink() for p in folder.rglob("*")) if folder.exists() else True


def test_nan_and_infinite_coordinates_quarantine_that_feature_only(hostile):
    """One coordinate of feature 1 spoiled: 19 records read, feature 1 quarantined for its geometry on top
    of the control's two unusable records (18 and 19)."""
    for name in ("nan.geojson", "inf.geojson"):
        status, rows_read, rows_loaded, rows_quarantined, error, *_ = hostile["registry"][("census_pipes", name)]
        assert (status, rows_read, rows_loaded, rows_quarantined) == ("loaded", 19, 16, 3), error
    rules = query(hostile["home"], "SELECT q._source_row, list_sort(list_transform(q.reasons, r -> r.rule)) "
                                   "FROM quarantine.census_pipes q JOIN audit.file_registry f ON q._file_id = f.file_id "
                                   "WHERE f.file_name = 'nan.geojson' ORDER BY 1")
    assert rules[0] == (1, ["geometry"])


def test_absurd_spreadsheet_ranges_are_refused_in_under_a_second(hostile):
    reg = hostile["registry"]
    assert "1048576 行 × 16384 列" in reg[("enforcement", "far_cell.xlsx")][4]
    # registered as rejected (hashed, inspected, refused, moved) in under a second each
    for name in ("far_cell.xlsx", "claims_a_million_rows.xlsx"):
        assert hostile["seconds"]["files"][("enforcement", name)] < 1.0


def test_a_lower_limit_from_the_contract_refuses_before_reading(tmp_path):
    """The limits are the contract's (``resources`` of _defaults.yml, overridable): with max_line_bytes
    1,000,000 a 2 MB line is refused by name; with max_file_bytes 100 the control CSV (>100 bytes) is
    refused before it is read."""
    from pipelines import duck
    from pipelines.ingest import ingest_feed

    home = DataHome(tmp_path / "home").ensure()
    base = load_contracts()["drainage_permits"]
    csv_bytes = CSV_CONTROL.read_bytes()
    header = csv_bytes.split(b"\r\n")[0]
    _put(home.landing_for("drainage_permits") / "long.csv",
         header + b"\r\n" + b"z" * 2_000_000 + b"\r\n", 1)
    con = duck.connect(home.warehouse)
    try:
        lines = dataclasses.replace(base, resources={**base.resources, "max_line_bytes": 1_000_000})
        [one] = ingest_feed(lines, home, con, "r1", strict=False).files
        assert one.status == "rejected" and "超长的行" in one.error, one.error
        _put(home.landing_for("drainage_permits") / "control.csv", csv_bytes, 2)
        small = dataclasses.replace(base, resources={**base.resources, "max_file_bytes": 100})
        [two] = ingest_feed(small, home, con, "r2", strict=False).files
        assert two.status == "rejected" and "文件过大" in two.error, two.error
    finally:
        con.close()
    assert json.dumps(base.resources)   # declared in sources/_defaults.yml
    assert base.resources["max_cells"] == 20_000_000
