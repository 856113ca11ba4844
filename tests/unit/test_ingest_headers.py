"""Header detection by synonyms, and the contract facts the loader relies on."""
import csv

import pytest

from pipelines.contracts import load_contracts
from pipelines.home import DBT_PROJECT_DIR
from pipelines.ingest.headers import find_header_row, fold_header, map_headers, match_header

CONTRACTS = load_contracts()


@pytest.mark.parametrize("feed", sorted(CONTRACTS))
def test_no_header_spelling_names_two_columns(feed):
    contract = CONTRACTS[feed]
    owners: dict[str, str] = {}
    for column in contract.columns:
        for spelling in {fold_header(s) for s in (column.zh, *column.synonyms)}:
            assert owners.setdefault(spelling, column.name) == column.name, (feed, spelling)


@pytest.mark.parametrize("feed, header, column", [
    ("census_pipes", "管径（mm）", "pipe_size"),
    ("census_pipes", "管径(mm)", "pipe_size"),
    ("census_pipes", " 管 径 ", "pipe_size"),
    ("census_pipes", "GDBH", "segment_id"),
    ("census_pipes", "gdbh", "segment_id"),
    ("drainage_permits", "许可排水量（m³/d）", "permitted_volume_m3d"),
    ("drainage_permits", "许可排水量(吨/日)", "permitted_volume_m3d"),   # unknown unit spelling, known stem
    ("upgrade_projects", "总投资（万元）", "investment_yuan"),
    ("plants", "设计规模（万吨/日）", "design_capacity_m3d"),
    ("misconnections", "检查井编号", "manhole_id"),
    ("misconnections", "编号", "misconnection_id"),
    ("plants", "备注", None),
    ("plants", "", None),
])
def test_match_header(feed, header, column):
    assert match_header(CONTRACTS[feed], header) == column


def test_header_found_below_title_rows_and_first_spelling_wins():
    contract = CONTRACTS["drainage_permits"]
    rows = [["台州市排水许可证台账", None, None], [None, None, None], ["（2025年1月）", None, None],
            ["许可证号", "单位名称", "信用代码", "排水户", "统一社会信用代码"], ["DP-1", "甲", "X", "Y", "Z"]]
    assert find_header_row(contract, rows) == 3
    mapping = map_headers(contract, rows[3])
    assert mapping.positions == {"permit_no": 0, "holder_name": 1, "credit_code": 2}


def test_no_header_row_is_none():
    contract = CONTRACTS["drainage_permits"]
    assert find_header_row(contract, [["a", "b"], ["1", "2"]]) is None


def test_inspection_grades_agree_with_the_cjj181_seed():
    with open(DBT_PROJECT_DIR / "seeds" / "cjj181_defect_scores.csv", encoding="utf-8") as fh:
        seed: dict[str, set[int]] = {}
        for row in csv.DictReader(fh):
            seed.setdefault(row["defect_code"], set()).add(int(row["grade"]))
    rule = next(r for r in CONTRACTS["inspections"].row_rules if r["rule"] == "grade_for_code")
    assert {code: set(grades) for code, grades in rule["grades"].items()} == seed


@pytest.mark.parametrize("feed, header, column", [
    # issue 8: brackets of both widths (and 【】), a 编号/名称 suffix, a 所在 prefix, breaks and spaces, English
    ("plants", "进口监测点MN", "inlet_mn"),
    ("census_manholes", "所在区县", "district_code"),
    ("drainage_permits", "区县名称", "district_code"),
    ("census_pipes", "管径【mm】", "pipe_size"),
    ("census_pipes", "管 径\n（mm）", "pipe_size"),
    ("plant_lab", "BOD₅（mg/L）", "bod5_mg_l"),
    ("census_pipes", "Segment ID", "segment_id"),
    ("census_pipes", "District", "district_code"),
    ("census_manholes", "Depth (m)", "depth_m"),
    ("drainage_permits", "Permit No.", "permit_no"),
    ("drainage_permits", "发证时间", "issued_on"),
    ("enforcement", "处罚决定书编号", "decision_no"),
    # never a guess: a 名称 is not an 编号, and a stem two columns share names neither
    ("plants", "厂站名称", None),
    ("upgrade_projects", "项目", None),
    ("upgrade_projects", "Project", None),
    ("plants", "序号", None),
])
def test_header_rules(feed, header, column):
    assert match_header(CONTRACTS[feed], header) == column


def test_map_headers_reports_variants_and_unmatched_headers():
    mapping = map_headers(CONTRACTS["plants"], ["厂站编号", "厂名", "所在区县", "进口监测点MN", "经纬度", None, " "])
    assert mapping.positions == {"plant_id": 0, "plant_name": 1, "district_code": 2, "inlet_mn": 3}
    assert mapping.variants == {"district_code": "所在区县", "inlet_mn": "进口监测点MN"}
    assert mapping.unmatched == [(4, "经纬度")]
