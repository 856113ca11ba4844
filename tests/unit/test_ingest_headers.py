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
