"""Each reader on real files: encodings, sheets with title/blank/remarks rows, GIS files in both
coordinate systems, HJ 212 logs, and the files that cannot be read at all."""
import json
from datetime import date

import pytest

from pipelines.home import DataHome
from pipelines.hj212 import crc_hj212
from tests.fixtures.ingest_files import (
    CREDIT_A, CREDIT_B, DRAINAGE_HEADER, drainage_row, gauss_kruger_4549, gauss_kruger_4550, ingest, packet, polyline_length, query,
    write_csv, write_geojson, write_lines, write_shapefile_zip, write_xlsx,
)

STANDARD_VECTOR = ("##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;"
                   "Flag=5;CP=&&RtdInterval=30&&1C80")


@pytest.fixture
def home(tmp_path):
    return DataHome(tmp_path / "home").ensure()


def reasons(home, feed):
    """{source_row: sorted (field, rule)} of the quarantine."""
    out = {}
    for row, rs in query(home, f"SELECT _source_row, reasons FROM quarantine.{feed} ORDER BY 1"):
        out[row] = sorted((r["field"] or "", r["rule"]) for r in rs)
    return out


def findings(home, feed, kinds=("unknown_label", "invalid_value", "missing_value")):
    """{(field, kind, rule, value): (records, of which quarantined)} of audit.file_findings."""
    return {(f, k, r, v): (n, q) for f, k, r, v, n, q in query(
        home, "SELECT field, kind, rule, value, count, rows_quarantined FROM audit.file_findings "
              f"WHERE feed = ? AND kind IN ({', '.join('?' for _ in kinds)})", [feed, *kinds])}


# ---- CSV ------------------------------------------------------------------------------------------
def test_gbk_csv_loads_with_the_right_chinese_text(home):
    names = ["椒江区海门街道丰泰餐饮店", "台州市黄岩区永宁江食品厂", "路桥区金清镇鑫源洗车行"]
    rows = [DRAINAGE_HEADER] + [drainage_row(i + 1, name=n) for i, n in enumerate(names)]
    path = write_csv(home.landing_for("drainage_permits") / "331002_椒江区_排水许可_2025-01.csv", rows, "gbk")
    assert path.read_bytes().decode("gbk").splitlines()[1].split(",")[1] == names[0]
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")

    result = ingest(home, "drainage_permits")
    [file] = result.files
    assert (file.status, file.encoding, file.rows_read, file.rows_loaded) == ("loaded", "gbk", 3, 3)
    got = query(home, "SELECT holder_name, holder_type, district_code FROM raw.drainage_permits_current "
                      "ORDER BY permit_no")
    assert got == [(n, "catering", "331002") for n in names]
    assert query(home, "SELECT encoding FROM audit.file_registry")[0][0] == "gbk"


def test_csv_with_a_line_break_inside_a_quoted_header_cell_loads(home):
    """Excel writes a header cell typed over two lines (Alt+Enter) as ``"许可排水量\n（立方米/日）"`` between CRLF
    rows. DuckDB's parallel CSV scanner refuses a quoted line break when rows are padded (every such file was
    rejected whole at sample scale 1); the reader then reads the file in one thread. 3 records, all loaded."""
    header = DRAINAGE_HEADER[:4] + ["许可排水量\n（立方米/日）"] + DRAINAGE_HEADER[5:-1] + ["状\n态"]
    rows = [header] + [drainage_row(i + 1) for i in range(3)]
    path = write_csv(home.landing_for("drainage_permits") / "331002_椒江区_排水许可_2025-02.csv", rows, "gbk")
    assert b'"\xd7\xb4\n\xcc\xac"\r\n' in path.read_bytes()       # "状\n态" in GBK, last cell of the header

    [file] = ingest(home, "drainage_permits").files
    assert (file.status, file.rows_read, file.rows_loaded) == ("loaded", 3, 3)
    assert query(home, "SELECT DISTINCT permitted_volume_m3d, status FROM raw.drainage_permits_current") == \
        [(12.5, "valid")]


def test_csv_variants_normalise_and_spoiled_rows_carry_every_reason(home):
    rows = [
        ["台州市排水许可证台账（椒江区）"],            # a title row above the header
        DRAINAGE_HEADER,
        drainage_row(1, volume="１２．５", issued="2024/5/6", until="2029年5月5日"),
        drainage_row(2, volume="12", district="玉环县", issued="20240506", until="45418.0", credit=CREDIT_B),
        ["", "", "", "", "", "", "", "", "", ""],                               # a blank row as Excel writes it
        drainage_row(3, credit=CREDIT_A[:-1] + "Y", holder_type="外星", volume="abc", district="火星区",
                     issued="2024-13-01", manhole=""),
        drainage_row(4, issued="2025-01-01", until="2024-12-31", district="331021"),
        drainage_row(5, volume="0"),
        ["备注：本表由椒江区综合行政执法局填报"],
    ]
    write_csv(home.landing_for("drainage_permits") / "permits.csv", rows, "utf-8-sig")
    [file] = ingest(home, "drainage_permits").files
    assert (file.rows_read, file.rows_loaded, file.rows_quarantined) == (5, 2, 3)

    got = query(home, "SELECT permit_no, permitted_volume_m3d, district_code, issued_on, valid_until, _source_row "
                      "FROM raw.drainage_permits ORDER BY permit_no")
    assert got == [("DP-331002-00001", 12.5, "331002", date(2024, 5, 6), date(2029, 5, 5), 1),
                   ("DP-331002-00002", 12.0, "331083", date(2024, 5, 6), date(2024, 5, 6), 2)]
    # Only identity and structural failures are reasons; row 3's descriptive failures (credit code, district,
    # holder type) are findings, counted although the record is quarantined for its structural ones.
    assert reasons(home, "drainage_permits") == {
        3: [("connection_manhole_id", "required"), ("issued_on", "type"), ("permitted_volume_m3d", "type")],
        4: [("valid_until", "date_order")],
        5: [("permitted_volume_m3d", "range")],
    }
    assert findings(home, "drainage_permits") == {
        ("credit_code", "invalid_value", "credit_code", CREDIT_A[:-1] + "Y"): (1, 1),
        ("district_code", "unknown_label", "enum", "火星区"): (1, 1),
        ("holder_type", "unknown_label", "enum", "外星"): (1, 1),
    }


def test_every_reason_names_file_row_field_in_chinese_and_english(home):
    rows = [DRAINAGE_HEADER, drainage_row(1, credit="913302007XXXXXXXXX", volume="-5", until="2020-01-01")]
    write_csv(home.landing_for("drainage_permits") / "坏数据.csv", rows)
    ingest(home, "drainage_permits", strict=False)
    [(raw_values, rs)] = query(home, "SELECT raw_values, reasons FROM quarantine.drainage_permits")
    assert json.loads(raw_values)["统一社会信用代码"] == "913302007XXXXXXXXX"
    assert json.loads(raw_values)["许可排水量（立方米/日）"] == "-5"
    assert sorted(r["rule"] for r in rs) == ["date_order", "range"]
    for r in rs:
        assert "坏数据.csv" in r["message_zh"] and "第1行" in r["message_zh"] and f"({r['field']})" in r["message_zh"]
        assert "坏数据.csv" in r["message_en"] and "row 1" in r["message_en"] and r["field"] in r["message_en"]


def test_exact_duplicate_and_repeated_key(home):
    rows = [DRAINAGE_HEADER, drainage_row(1), drainage_row(2), drainage_row(1),                 # row 3: copy of 1
            drainage_row(2, volume="99"), drainage_row(2, volume="99")]                        # 4: key of 2; 5: copy of 4
    write_csv(home.landing_for("drainage_permits") / "dups.csv", rows)
    [file] = ingest(home, "drainage_permits").files
    assert (file.rows_read, file.rows_loaded, file.rows_quarantined) == (5, 2, 3)
    assert reasons(home, "drainage_permits") == {3: [("", "duplicate_row")], 4: [("", "duplicate_key")],
                                                 5: [("", "duplicate_row")]}
    assert query(home, "SELECT permitted_volume_m3d FROM raw.drainage_permits WHERE permit_no LIKE '%2'") == [(12.5,)]


# ---- xlsx -----------------------------------------------------------------------------------------
PROJECT_HEADER = ["项目编号", "项目名称", "实施主体", "改造类型", "涉及管段", "计划开工日期", "实际开工", "计划完工",
                  "实际完工", "总投资（万元）", "资金来源", "项目状态"]


def test_xlsx_with_title_blank_rows_remarks_serials_and_units(home):
    from datetime import datetime
    rows = [
        ["UP-1", "椒江一期", "椒江区", "管网修复", "S1,S2；S3", datetime(2024, 3, 1), 45352, "2024年12月31日", None,
         12.5, "专项债", "在建"],
        ["UP-2", "黄岩二期", "黄岩", "新建", "S4", "2024-05-01", None, "2024-01-01", None, "300万元", "以奖代补", "前期"],
        ["UP-3", "湾区三期", "台州湾新区", "雨污分流", None, "2024-05-01", None, "2025-01-01", None, "#VALUE!",
         "自筹", "前期"],
        ["UP-4", "玉环四期", "331021", "泵站改造", "S9", 45413, None, 45657, None, "120000元", "社会资本", "已完工"],
    ]
    write_xlsx(home.landing_for("upgrade_projects") / "projects.xlsx", PROJECT_HEADER, rows, blank_after=(0, 1))
    [file] = ingest(home, "upgrade_projects").files
    assert (file.rows_read, file.rows_loaded, file.rows_quarantined, file.rows_unmapped) == (4, 3, 1, 1)
    got = query(home, "SELECT project_id, district_code, segment_ids, planned_start_on, actual_start_on, "
                      "planned_completion_on, investment_yuan, funding_source, _unmapped, _source_row "
                      "FROM raw.upgrade_projects ORDER BY 1")
    # UP-3: its funding source (自筹) and investment (#VALUE!) are descriptive: kept, NULL, the text as sent kept
    assert got == [
        ("UP-1", "331002", ["S1", "S2", "S3"], date(2024, 3, 1), date(2024, 3, 1), date(2024, 12, 31), 125000.0,
         "special_bond", None, 1),
        ("UP-3", "331099", None, date(2024, 5, 1), None, date(2025, 1, 1), None, None,
         {"investment_yuan": "#VALUE!", "funding_source": "自筹"}, 3),
        ("UP-4", "331083", ["S9"], date(2024, 5, 1), None, date(2024, 12, 31), 120000.0, "private_capital", None, 4),
    ]
    assert reasons(home, "upgrade_projects") == {2: [("planned_completion_on", "date_order")]}
    assert findings(home, "upgrade_projects") == {
        ("funding_source", "unknown_label", "enum", "自筹"): (1, 0),
        ("investment_yuan", "invalid_value", "type", "#VALUE!"): (1, 0),
    }


def test_truncated_xlsx_and_binary_csv_are_rejected_and_the_rest_loads(home):
    good = write_xlsx(home.landing_for("upgrade_projects") / "good.xlsx", PROJECT_HEADER,
                      [["UP-1", "一期", "椒江区", "新建", "S1", "2024-01-01", None, "2024-12-31", None, 10, "专项债", "在建"]])
    data = good.read_bytes()
    (home.landing_for("upgrade_projects") / "half.xlsx").write_bytes(data[: len(data) // 2])
    write_csv(home.landing_for("drainage_permits") / "ok.csv", [DRAINAGE_HEADER, drainage_row(1)])
    (home.landing_for("drainage_permits") / "export.csv").write_bytes(bytes(range(256)) * 64)

    projects = ingest(home, "upgrade_projects")
    permits = ingest(home, "drainage_permits")
    assert sorted((f.file_name, f.status) for f in projects.files + permits.files) == [
        ("export.csv", "rejected"), ("good.xlsx", "loaded"), ("half.xlsx", "rejected"), ("ok.csv", "loaded")]
    errors = dict(query(home, "SELECT file_name, error FROM audit.file_registry WHERE status = 'rejected'"))
    assert "损坏" in errors["half.xlsx"] and "truncated" in errors["half.xlsx"]
    assert "不是文本文件" in errors["export.csv"] and "not a text file" in errors["export.csv"]
    assert (home.rejected / "upgrade_projects" / "half.xlsx").exists()
    assert (home.rejected / "drainage_permits" / "export.csv").exists()
    assert (home.archive / "upgrade_projects" / "good.xlsx").exists()
    assert not any(home.landing_for("upgrade_projects").iterdir())
    assert query(home, "SELECT count(*) FROM raw.upgrade_projects_current") == [(1,)]


# ---- GIS ------------------------------------------------------------------------------------------
PIPE_PROPS = {"起点井号": "M1", "终点井号": "M2", "管道类别": "污水", "区域类型": "建成区", "区县": "椒江区"}


def test_geojson_in_4549_and_4490_load_with_lengths_in_metres(home):
    gk = [[(500000.0, 3170000.0), (500030.0, 3170040.0), (500030.0, 3170100.5)],
          [(640000.25, 3160000.0), (640100.0, 3160020.0)]]
    write_geojson(home.landing_for("census_pipes") / "gk.geojson",
                  [({**PIPE_PROPS, "管段编号": "GK-1", "管径": "DN400"}, [list(p) for p in gk[0]]),
                   ({**PIPE_PROPS, "管段编号": "GK-2", "管径": "1000×900", "长度": 99.5}, [list(p) for p in gk[1]])],
                  crs="EPSG:4549")
    lonlat = [[(121.4, 28.6), (121.401, 28.601), (121.4035, 28.6012)], [(120.1, 28.9), (120.1004, 28.9003)]]
    write_geojson(home.landing_for("census_pipes") / "ll.geojson",
                  [({**PIPE_PROPS, "管段编号": f"LL-{i}", "GJ": "d300"}, [list(p) for p in line])
                   for i, line in enumerate(lonlat, start=1)], crs="EPSG:4490")
    files = ingest(home, "census_pipes").files
    assert sorted((f.file_name, f.status, f.crs) for f in files) == [
        ("gk.geojson", "loaded", "EPSG:4549"), ("ll.geojson", "loaded", "EPSG:4490")]

    got = {r[0]: r[1:] for r in query(home, "SELECT segment_id, length_m, diameter_mm, box_width_mm, box_height_mm, "
                                            "ST_X(ST_StartPoint(geometry)), ST_Y(ST_StartPoint(geometry)) "
                                            "FROM raw.census_pipes_current")}
    assert got["GK-1"][0] == pytest.approx(polyline_length(gk[0]), abs=1e-3)   # no length sent: from geometry
    assert got["GK-2"][0] == 99.5                                             # sent length kept
    assert got["GK-2"][1:4] == (None, 1000, 900)
    for i, line in enumerate(lonlat, start=1):
        projected = [gauss_kruger_4549(lon, lat) for lon, lat in line]
        length, diameter, _, _, x0, y0 = got[f"LL-{i}"]
        assert length == pytest.approx(polyline_length(projected), abs=2e-3)
        assert (x0, y0) == pytest.approx(projected[0], abs=2e-3)          # stored easting, northing
        assert diameter == 300
    # 0.001° of longitude at 28.6°N is about 98 m: the projection is not a plain degrees-to-metres factor
    assert 90 < polyline_length([gauss_kruger_4549(*p) for p in lonlat[0][:2]]) < 160


def test_geojson_in_4550_is_transformed_to_4549(home):
    """Islands east of 121.5°E (大陈岛) are surveyed in EPSG:4550 (CM 123°E); stored in EPSG:4549 (CM 120°E)."""
    lonlat = [(121.90, 28.45), (121.903, 28.452), (121.9061, 28.4518)]
    in_4550 = [gauss_kruger_4550(lon, lat) for lon, lat in lonlat]
    write_geojson(home.landing_for("census_pipes") / "dachen.geojson",
                  [({**PIPE_PROPS, "管段编号": "DC-1", "管径": "DN300"}, [list(p) for p in in_4550])],
                  crs="EPSG:4550")
    [file] = ingest(home, "census_pipes").files
    assert (file.status, file.crs, file.rows_loaded) == ("loaded", "EPSG:4550", 1)
    [(length, x0, y0)] = query(home, "SELECT length_m, ST_X(ST_StartPoint(geometry)), ST_Y(ST_StartPoint(geometry)) "
                                     "FROM raw.census_pipes_current")
    in_4549 = [gauss_kruger_4549(lon, lat) for lon, lat in lonlat]
    assert (x0, y0) == pytest.approx(in_4549[0], abs=2e-3)
    assert length == pytest.approx(polyline_length(in_4549), abs=2e-3)
    # the two projections' scale differs by ~3e-4 here: a length left in 4550 metres would fail above
    assert abs(polyline_length(in_4549) - polyline_length(in_4550)) > 0.1


def test_geojson_without_crs_member_is_placed_by_its_coordinates(home):
    write_geojson(home.landing_for("census_manholes") / "mh.geojson",
                  [({"检查井编号": "MH-1", "井类型": "检查井", "区县": "椒江区"}, [121.4, 28.6]),
                   ({"检查井编号": "MH-2", "井类型": "跌水井", "区县": "椒江区"}, None),
                   ({"检查井编号": "MH-3", "井类型": "化粪池", "区县": "椒江区"}, [121.41, 28.61])],
                  crs=None, kind="Point")
    [file] = ingest(home, "census_manholes").files
    assert (file.crs, file.rows_read, file.rows_loaded, file.rows_quarantined) == ("EPSG:4490", 3, 2, 1)
    [(x, y)] = query(home, "SELECT ST_X(geometry), ST_Y(geometry) FROM raw.census_manholes WHERE manhole_id = 'MH-1'")
    assert (x, y) == pytest.approx(gauss_kruger_4549(121.4, 28.6), abs=2e-3)
    # 化粪池 is no manhole type the contract knows; the type is descriptive, so MH-3 is kept with a NULL type
    assert reasons(home, "census_manholes") == {2: [("geometry", "geometry")]}
    assert query(home, "SELECT manhole_type, _unmapped FROM raw.census_manholes WHERE manhole_id = 'MH-3'") == [
        (None, {"manhole_type": "化粪池"})]


def test_zipped_shapefile_with_pinyin_field_codes(home):
    rows = [{"GDBH": "SHP-1", "QDJH": "M1", "ZDJH": "M2", "GDLB": "合流", "GJ": "DN600", "QYLX": "工业园区",
             "QX": "台州湾新区", "MSNF": "1998年"},
            {"GDBH": "SHP-2", "QDJH": "M2", "ZDJH": "M3", "GDLB": "雨水", "GJ": "800", "QYLX": "建成区",
             "QX": "331083", "MSNF": "不详"}]
    write_shapefile_zip(home.landing_for("census_pipes") / "shp.zip", rows,
                        ["LINESTRING (600000 3150000, 600300 3150400)", "LINESTRING (600300 3150400, 600300 3150500)"],
                        "EPSG:4549")
    [file] = ingest(home, "census_pipes").files
    assert (file.status, file.crs, file.rows_loaded) == ("loaded", "EPSG:4549", 2)
    assert query(home, "SELECT segment_id, pipe_category, diameter_mm, scope, district_code, install_year, length_m "
                       "FROM raw.census_pipes ORDER BY 1") == [
        ("SHP-1", "combined", 600, "industrial_park", "331099", 1998, 500.0),
        ("SHP-2", "storm", 800, "built_up", "331083", None, 100.0)]


def test_broken_geojson_is_rejected(home):
    (home.landing_for("census_pipes")).mkdir(parents=True, exist_ok=True)
    (home.landing_for("census_pipes") / "cut.geojson").write_text('{"type":"FeatureCollection","features":[{"ty')
    [file] = ingest(home, "census_pipes").files
    assert file.status == "rejected" and "GeoJSON" in file.error


# ---- HJ 212 ---------------------------------------------------------------------------------------
def test_hj212_crc_accepts_the_standard_vector_and_rejects_modbus(home):
    assert crc_hj212(STANDARD_VECTOR[6:-4].encode()) == 0x1C80          # the shared CRC, independently
    modbus = STANDARD_VECTOR[:-4] + "0759"
    good, bad = packet("33100200000001", "20240506010000"), packet("33100200000001", "20240506020000")
    lines = [STANDARD_VECTOR + "\r\n", modbus + "\r\n", good, bad[:-6] + "0759\r\n",
             good.replace("##0", "##9", 1),                                  # length field wrong
             good[:40] + "\r\n", "\r\n"]                                     # truncated; blank line
    write_lines(home.landing_for("plant_online") / "P01_20240506.log", lines)
    [file] = ingest(home, "plant_online").files
    assert (file.rows_read, file.rows_loaded, file.rows_quarantined) == (6, 1, 5)
    got = reasons(home, "plant_online")
    # The vector passes every integrity check; it is quarantined only for its content (CN=1062 is a
    # command, not data, and it has no DataTime).
    assert not any(rule.startswith("hj212") for _, rule in got[1])
    assert got[2] == [("", "hj212_crc")]
    assert got[4] == [("", "hj212_crc")]
    assert got[5] == [("", "hj212_length")]
    assert got[6] == [("", "hj212_frame")]
    assert query(home, "SELECT mn, cn, data_time::VARCHAR, data_date, cod_avg, cod_flag, nh3n_avg, flow_avg, tp_avg "
                       "FROM raw.plant_online") == [
        # w00000-Avg=1200.0 is L/s (HJ 212-2017 表B.1); stored in m³/h: 1200 × 3.6 = 4320
        ("33100200000001", "2061", "2024-05-06 01:00:00", date(2024, 5, 6), 35.2, "N", 1.2, 4320.0, None)]


INSPECTION_HEADER = ["检测批次", "管段编号", "检测日期", "检测方法", "检测长度(m)", "缺陷代码", "缺陷等级", "缺陷位置(m)",
                     "缺陷长度"]


def test_inspections_grades_codes_and_a_decimal_key(home):
    rows = [
        ["JC-01", "S1", "2024-03-10", "CCTV", 40, None, None, 0, None],          # inspected, no defect
        ["JC-01", "S2", "2024/3/11", "声呐", 30, "PL", "三级", 5.5, 0.3],
        ["JC-01", "S2", "2024/3/11", "声呐", 30, "SL", "2", 12, 0.0],
        ["JC-01", "S2", "2024/3/11", "声呐", 30, "SL", "3", "12.0", 0.5],       # same key (S2, 12 m) as above
        ["JC-01", "S3", "2024-03-12", "CCTV", 25, "FS", "四级", 3, 0.2],          # FS has no grade 4
        ["JC-01", "S4", "2024-03-12", "QV", 25, "CJ", None, 8, 1],               # a defect without a grade
        ["JC-01", "S5", "2014-12-31", "CCTV", 25, None, None, 0, None],          # before 2015-01-01
    ]
    write_xlsx(home.landing_for("inspections") / "JC-01.xlsx", INSPECTION_HEADER, rows, title="管道检测成果表")
    [file] = ingest(home, "inspections").files
    assert (file.rows_read, file.rows_loaded, file.rows_quarantined) == (7, 3, 4)
    assert query(home, "SELECT segment_id, method, defect_code, defect_grade, defect_position_m FROM raw.inspections "
                       "ORDER BY segment_id, defect_position_m") == [
        ("S1", "CCTV", None, None, 0.0), ("S2", "SONAR", "PL", 3, 5.5), ("S2", "SONAR", "SL", 2, 12.0)]
    assert reasons(home, "inspections") == {
        4: [("", "duplicate_key")], 5: [("defect_grade", "grade_for_code")], 6: [("defect_grade", "required")],
        7: [("inspected_on", "range")]}


def test_hj212_log_with_garbled_bytes_keeps_its_good_packets(home):
    good = packet("33100200000001", "20240506010000")
    path = home.landing_for("plant_online") / "garbled.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    garbled = b"##0040QN=\xff\xfegarbage&&ABCD\r\n"
    path.write_bytes(good.encode() + garbled + packet("33100200000001", "20240506020000").encode())
    [file] = ingest(home, "plant_online").files
    assert (file.status, file.rows_read, file.rows_loaded) == ("loaded", 3, 2)
    assert reasons(home, "plant_online") == {2: [("", "hj212_frame")]}


def test_hj212_blank_lines_inside_a_log_are_not_records(home):
    lines = [packet("33100200000001", "20240506010000"), "\r\n", "   \r\n",
             packet("33100200000001", "20240506020000")[:30] + "\r\n",                 # truncated: record 2
             packet("33100200000001", "20240506030000")]
    write_lines(home.landing_for("plant_online") / "gaps.log", lines)
    [file] = ingest(home, "plant_online").files
    assert (file.rows_read, file.rows_loaded, file.rows_quarantined) == (3, 2, 1)
    assert reasons(home, "plant_online") == {2: [("", "hj212_frame")]}
    assert query(home, "SELECT _source_row, data_time::VARCHAR FROM raw.plant_online ORDER BY 1") == [
        (1, "2024-05-06 01:00:00"), (3, "2024-05-06 03:00:00")]


def test_a_large_sheet_is_framed_in_sql_with_the_same_row_numbers(home):
    """Sheets above the small-sheet limit are framed by aggregate queries instead of one fetch: the
    record numbers must not change (blank rows inside, title above, remarks below)."""
    from pipelines.ingest.readers.tabular import SMALL_SHEET_ROWS

    n = SMALL_SHEET_ROWS + 700
    rows = [["台州市排水许可证台账"], DRAINAGE_HEADER]
    for i in range(1, n + 1):
        rows.append(drainage_row(i, volume="-1" if i in (10, n) else "12.5"))
        if i in (5, n - 300):
            rows.append([""] * len(DRAINAGE_HEADER))
    rows.append(["备注：以上数据截至2025年6月"])
    write_csv(home.landing_for("drainage_permits") / "big.csv", rows)
    [file] = ingest(home, "drainage_permits").files
    assert (file.rows_read, file.rows_loaded, file.rows_quarantined) == (n, n - 2, 2)
    assert sorted(reasons(home, "drainage_permits")) == [10, n]
    assert query(home, "SELECT min(_source_row), max(_source_row), count(DISTINCT _source_row) "
                       "FROM raw.drainage_permits") == [(1, n - 1, n - 2)]
    assert query(home, f"SELECT permit_no FROM raw.drainage_permits WHERE _source_row = {n - 299}") == [
        (f"DP-331002-{n - 299:05d}",)]


# ---- trailing rows: a lone key value is a record, only a remark is skipped --------------------------
def test_csv_whose_last_row_is_a_lone_key_is_counted_and_quarantined(home):
    rows = [DRAINAGE_HEADER, drainage_row(1), drainage_row(2), ["DP-331002-00003"]]
    write_csv(home.landing_for("drainage_permits") / "lone.csv", rows)
    [file] = ingest(home, "drainage_permits").files
    assert (file.rows_read, file.rows_loaded, file.rows_quarantined, file.rows_remarks) == (3, 2, 1, 0)
    got = reasons(home, "drainage_permits")
    assert list(got) == [3] and ("permitted_volume_m3d", "required") in got[3]
    [(raw_values,)] = query(home, "SELECT raw_values FROM quarantine.drainage_permits")
    assert json.loads(raw_values)["许可证编号"] == "DP-331002-00003"
    assert query(home, "SELECT rows_read, rows_loaded, rows_quarantined, rows_remarks "
                       "FROM audit.file_registry") == [(3, 2, 1, 0)]


def test_csv_remarks_rows_are_skipped_and_counted_in_the_registry(home):
    rows = [DRAINAGE_HEADER, drainage_row(1), ["DP-331002-00002"], [""] * len(DRAINAGE_HEADER),
            ["备注：本表由椒江区综合行政执法局填报"], ["填报人：王某", "", "联系电话：0576-88888888"]]
    write_csv(home.landing_for("drainage_permits") / "remarks.csv", rows)
    [file] = ingest(home, "drainage_permits").files
    assert (file.rows_read, file.rows_loaded, file.rows_quarantined, file.rows_remarks) == (2, 1, 1, 2)
    assert list(reasons(home, "drainage_permits")) == [2]
    assert query(home, "SELECT rows_remarks FROM audit.file_registry") == [(2,)]


def test_xlsx_whose_last_row_is_a_lone_key_is_counted_and_quarantined(home):
    full = ["UP-1", "一期", "椒江区", "新建", "S1", "2024-01-01", None, "2024-12-31", None, 10, "专项债", "在建"]
    write_xlsx(home.landing_for("upgrade_projects") / "lone.xlsx", PROJECT_HEADER, [full, ["UP-2"]], remarks=None)
    write_xlsx(home.landing_for("upgrade_projects") / "signed.xlsx", PROJECT_HEADER,
               [["UP-3", *full[1:]], ["UP-4"]], mtime=2_000_000_000)      # default remarks row below
    files = {f.file_name: f for f in ingest(home, "upgrade_projects").files}
    assert [(f.rows_read, f.rows_loaded, f.rows_quarantined, f.rows_remarks)
            for f in (files["lone.xlsx"], files["signed.xlsx"])] == [(2, 1, 1, 0), (2, 1, 1, 1)]
    got = query(home, "SELECT raw_values->>'$.项目编号', _source_row, list_transform(reasons, r -> r.rule) "
                      "FROM quarantine.upgrade_projects ORDER BY 1")
    assert [(p, r) for p, r, _ in got] == [("UP-2", 2), ("UP-4", 2)]
    assert all("required" in rules for _, _, rules in got)


def test_geojson_property_name_with_a_double_quote_loads(home):
    """Property names reach SQL as identifiers: a `"` in one must be escaped, not break the statement."""
    write_geojson(home.landing_for("census_manholes") / "quote.geojson",
                  [({"检查井编号": "MH-1", "井类型": "检查井", "区县": "椒江区", '备注"A"': "x"}, [121.4, 28.6])],
                  crs="EPSG:4490", kind="Point")
    [file] = ingest(home, "census_manholes").files
    assert (file.status, file.rows_loaded) == ("loaded", 1)
