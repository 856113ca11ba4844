"""The normalisation macros on the spellings bureaus really use (DOMAIN.md §3)."""
from datetime import date

import pytest

from pipelines import duck
from pipelines.ingest import normalise


@pytest.fixture(scope="module")
def con():
    con = duck.connect(extensions=())
    normalise.install(con)
    yield con
    con.close()


def one(con, sql: str, *params):
    return con.execute(f"SELECT {sql}", list(params)).fetchone()[0]


@pytest.mark.parametrize("text, expected", [
    ("2024-05-06", date(2024, 5, 6)), ("2024/5/6", date(2024, 5, 6)), ("20240506", date(2024, 5, 6)),
    ("2024年5月6日", date(2024, 5, 6)), ("45418", date(2024, 5, 6)), ("45418.0", date(2024, 5, 6)),
    ("２０２４－０５－０６", date(2024, 5, 6)), ("2024-05-06 00:00:00", date(2024, 5, 6)),
    ("2024.5.6", date(2024, 5, 6)),
    ("2024-02-30", None), ("2024-13-05", None), ("2023年13月8日", None), ("2024/6/31", None),
    ("24-5-6", None), ("#VALUE!", None), ("2024-5", None),
])
def test_dates(con, text, expected):
    assert one(con, "ss_date(ss_clean(?))", text) == expected


@pytest.mark.parametrize("text, expected", [
    ("1998", 1998), ("1998年", 1998), ("1998.0", 1998), ("2003-07-01", 2003), ("19?5", None), ("20l8", None),
])
def test_years(con, text, expected):
    assert one(con, "ss_year(ss_clean(?))", text) == expected


@pytest.mark.parametrize("text, expected", [
    ("  １２３ ", "123"), ("ＤＰ－３３１００２", "DP-331002"), ("１２．５", "12.5"), ("甲，乙", "甲,乙"),
    ("", None), ("   ", None), ("\u3000", None), ("不详", None), ("/", None), ("—", None), (None, None),
])
def test_clean_folds_fullwidth_and_empty_markers(con, text, expected):
    assert one(con, "ss_clean(?)", text) == expected


@pytest.mark.parametrize("marker", normalise.EMPTY_MARKERS)
def test_every_empty_marker_reads_as_empty_and_a_digit_led_cell_never_does(con, marker):
    """ss_empty_null skips the marker list for a cell that starts with a digit; a marker that started with one
    would then be kept as a value, and this test fails for it."""
    assert one(con, "ss_clean(?)", marker) is None
    assert one(con, "ss_empty_null(?)", "0" + marker) == "0" + marker


@pytest.mark.parametrize("text, number, unit", [
    ("12.5", 12.5, ""), ("12.5万元", 12.5, "万元"), ("400 mm", 400.0, "mm"), ("1,234.5", 1234.5, ""),
    ("-3.5", -3.5, ""), ("2.5万m³/d", 2.5, "万m3/d"), ("1.2.3", None, None), ("12..5", None, None),
    ("#DIV/0!", None, None), ("1_000", None, None), ("inf", None, None),
])
def test_number_and_unit(con, text, number, unit):
    parsed = one(con, "ss_number_unit(ss_clean(?))", text)
    assert parsed["n"] == number
    if number is not None:
        assert parsed["u"] == unit


@pytest.mark.parametrize("text, d, w, h", [
    ("DN400", 400, None, None), ("d400", 400, None, None), ("400mm", 400, None, None), ("400", 400, None, None),
    ("Φ300", 300, None, None), ("0.4m", 400, None, None), ("1000×900", None, 1000, 900),
    ("1000X900", None, 1000, 900), ("１０００×９００", None, 1000, 900), ("DN4OO", None, None, None),
    ("DN#", None, None, None),
])
def test_pipe_sizes(con, text, d, w, h):
    parsed = one(con, "ss_pipe_size(ss_clean(?))", text)
    if d is None and w is None:
        assert parsed is None
    else:
        assert (parsed["d"], parsed["w"], parsed["h"]) == (d, w, h)


@pytest.mark.parametrize("text, code", [
    ("椒江区", "331002"), ("椒江", "331002"), ("331002", "331002"), ("玉环县", "331083"), ("331021", "331083"),
    ("玉环市", "331083"), ("台州湾新区", "331099"), ("浙江省台州市临海市", "331082"), ("火星区", None),
])
def test_districts(con, text, code):
    assert one(con, "ss_district(ss_clean(?))", text) == code


def test_lists_split_on_every_separator(con):
    assert one(con, "ss_list(ss_clean(?))", "S1,S2，S3；S4、 S5;;") == ["S1", "S2", "S3", "S4", "S5"]


@pytest.mark.parametrize("stored, source, header, factor", [
    ("yuan", "万元", "总投资（万元）", 1e4),        # header and contract agree
    ("yuan", "万元", "总投资", 1e4),               # bare number: the contract's source unit
    ("yuan", "万元", "总投资(元)", 1.0),           # the header names another unit: it wins
    ("m3/d", "万m3/d", "设计规模（万吨/日）", 1e4),
    ("m3/d", None, "许可排水量(m³/d)", 1.0),
    ("m", None, "长度(km)", 1000.0),
])
def test_bare_number_factor(stored, source, header, factor):
    assert normalise.bare_factor(stored, source, header) == factor


def test_unit_written_in_value_wins_over_header(con):
    factor = normalise.unit_factor_sql("?", "yuan", normalise.bare_factor("yuan", "万元", "总投资"))
    assert con.execute(f"SELECT 12.5 * {factor}", ["万元"]).fetchone()[0] == 125000.0
    assert con.execute(f"SELECT 300 * {factor}", ["元"]).fetchone()[0] == 300.0
    assert con.execute(f"SELECT 12.5 * {factor}", [""]).fetchone()[0] == 125000.0
    assert con.execute(f"SELECT 12.5 * {factor}", ["斤"]).fetchone()[0] is None


@pytest.mark.parametrize("feed, column, text, code", [
    ("inspections", "defect_grade", "三级", 3), ("inspections", "defect_grade", "Ⅳ级", 4),
    ("inspections", "defect_grade", "2", 2), ("inspections", "defect_grade", "五级", None),
    ("inspections", "method", "cctv", "CCTV"), ("inspections", "method", "声呐", "SONAR"),
    ("discharge_permits", "standard", "GB/T31962-2015 B级", "GBT31962_B"),
    ("census_pipes", "material", "砼", "RC"), ("census_pipes", "material", "陶土管", None),
    ("census_pipes", "pipe_category", "sewage", "sewage"),
    # forgiven by rule: width, spaces, bracket style, a bracketed remark after a known label
    ("enforcement", "case_status", "已结案（已归档）", "closed"), ("enforcement", "case_status", "已 结 案", "closed"),
    ("enforcement", "case_status", "【已结案】", None),
    ("upgrade_projects", "status", "已完工[竣工验收中]", "completed"),
    ("misconnections", "severity", "重度", "severe"), ("misconnections", "severity", "严重", "severe"),
    ("misconnections", "severity", "一般", None),
])
def test_enum_maps_labels_to_codes(con, feed, column, text, code):
    from pipelines.contracts import load_contracts
    from pipelines.ingest.schema import enum_is_integer

    col = load_contracts()[feed].column(column)
    mapped = normalise.enum_sql("x", col.values, enum_is_integer(col))
    assert one(con, f"(SELECT {mapped} FROM (SELECT ss_clean(?) AS x))", text) == code
