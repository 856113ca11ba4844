"""The task ledger on the shared sample home (reporting date 2025-06-30).

- Every work item of the plan's task table (the seed plan_task_departments, transcribing seed
  000_68226c89409084a2) is in the ledger, for every district or the city, with a status and its lead departments.
- The statuses of the reported items are recomputed here from the task-progress spreadsheets themselves, read by
  the sample's plain reader (pipelines/sample/verify.py: openpyxl, its own date and enum parsing), with the rule of
  docs/marts.md written again in Python: the latest report on or before the reporting date wins (same day: the
  furthest status); no report = 未开始; 滞后 = 逾期; a deadline passed while 未开始/进行中 = 逾期.
- The measured inspection items follow the plan's own numbers: 2.3/2.4 are 已完成 at 100 % inspected and 逾期 below
  60 % after 2024-12-31 (the 60 % line is due; the reporting date is past it).
"""
from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from pathlib import Path

import pytest

from pipelines import duck
from pipelines.contracts import load_contracts
from pipelines.home import DBT_PROJECT_DIR
from pipelines.sample.verify import check_record, read_xlsx_file

R = dt.date(2025, 6, 30)
SEEDS = DBT_PROJECT_DIR / "seeds"
RANK = {"closed_off": 5, "completed": 4, "behind": 3, "in_progress": 2, "not_started": 1}
LEDGER_STATUS = {"closed_off": "已销号", "completed": "已完成", "behind": "逾期", "in_progress": "进行中",
                 "not_started": "未开始"}


def _csv(name: str) -> list[dict]:
    with (SEEDS / name).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from tests.fixtures.published_home import sample_home

    built = sample_home(tmp_path_factory)
    assert built.build["success"]
    return built


def _rows(home, sql: str) -> list[dict]:
    con = duck.connect(home.published, read_only=True, extensions=())
    try:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        con.close()


def test_every_task_of_the_seed_has_a_status_and_its_lead_departments(built):
    seed = _csv("plan_task_departments.csv")
    names = {r["dept_code"]: r["name_zh"] for r in _csv("departments.csv")}
    items = {f"{r['task_no']}.{r['item_no']}" for r in seed}
    leads = defaultdict(set)
    for r in seed:
        if r["role"] == "lead":
            leads[f"{r['task_no']}.{r['item_no']}"].add(names[r["dept_code"]])
    assert len(items) == 26
    rows = _rows(built.home, "SELECT * FROM marts.task_ledger")   # the published copy, as shared
    assert {r["item_code"] for r in rows} == items
    by_place = defaultdict(list)
    for r in rows:
        by_place[(r["item_code"], r["district_code"])].append(r)
    for (item, district), units in by_place.items():
        assert {u["status_zh"] for u in units} <= {"未开始", "进行中", "已完成", "逾期", "已销号"}
        assert len({u["status"] for u in units}) == 1, (item, district)       # one status per item and place
        assert {u["unit_name"] for u in units if u["unit_role"] == "lead"} == leads[item], (item, district)
        assert set(units[0]["lead_units"].split("、")) == leads[item]
        if district != "331000":                                             # the district implements it
            assert [u["unit_name"] for u in units if u["unit_role"] == "implementing"] == \
                ["台州湾新区管委会" if district == "331099" else units[0]["district_name"] + "人民政府"]
    # every item is somewhere: district items in all ten districts, city items once
    places = defaultdict(set)
    for item, district in by_place:
        places[item].add(district)
    assert places["1.3"] == {r["district_code"] for r in _csv_districts() if r["district_code"] != "331000"}
    assert places["10.1"] == {"331000"}
    overdue = [r for r in rows if r["status"] == "overdue"]
    assert overdue and all(r["lead_units"] and r["is_overdue"] for r in overdue)


def _csv_districts() -> list[dict]:
    path = DBT_PROJECT_DIR.parent / "sources" / "reference" / "districts.csv"
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _reports(home) -> dict[tuple[str, str], list[dict]]:
    """The task-progress records as the spreadsheets say, after corrections (a later file's record with the same
    key — task, district, status — replaces the earlier one), valid rows only, by the item the generator wrote
    under that task name (pipelines/sample/tasks.py NAMES: the sample's own ground truth, not our alias table)."""
    from pipelines.sample.tasks import NAMES

    contract = load_contracts()["task_progress"]
    item_of = {name: item for item, name in NAMES.items()}
    files = sorted((home.root / "archive" / "task_progress").glob("*.xlsx"), key=lambda p: p.name)
    keyed: dict[tuple, dict] = {}
    for path in files:
        for record in read_xlsx_file(path, "task_progress").records:
            reasons, typed = check_record(contract, record)
            if reasons:
                continue
            keyed[(typed["task"], typed["district_code"], typed["status"])] = typed
    out = defaultdict(list)
    for (task, district, _), rec in keyed.items():
        out[(item_of[task], district)].append(rec)
    return out


def test_reported_items_take_the_latest_report_and_the_deadline(built):
    items = {r["item_code"]: r for r in _csv("plan_task_items.csv")}
    reports = _reports(built.home)
    assert reports, "the sample has task-progress files"
    rows = _rows(built.home, """SELECT DISTINCT item_code, district_code, status_zh, status_source,
                                                 completed_on, evidence_doc_no, evidence_missing
                                          FROM marts.task_ledger WHERE status_source <> 'data'""")
    checked = 0
    for row in rows:
        item = items[row["item_code"]]
        deadline = dt.date.fromisoformat(item["deadline"]) if item["deadline"] else None
        recs = [r for r in reports.get((row["item_code"], row["district_code"]), []) if r["status_on"] <= R]
        if not recs:
            expected = "逾期" if deadline and deadline < R else "未开始"
            assert row["status_source"] == "none"
        else:
            latest = max(recs, key=lambda r: (r["status_on"], RANK[r["status"]]))
            expected = LEDGER_STATUS[latest["status"]]
            if expected in ("未开始", "进行中") and deadline and deadline < R:
                expected = "逾期"
            if latest["status"] in ("completed", "closed_off"):
                first_done = min(r["status_on"] for r in recs if r["status"] == "completed") \
                    if any(r["status"] == "completed" for r in recs) else latest["status_on"]
                assert row["completed_on"] == first_done, row
                assert row["evidence_missing"] == (latest.get("evidence_doc_no") is None), row
        assert row["status_zh"] == expected, (row, recs)
        checked += 1
    # the reported items: 9 district-level (1.1, 1.2, 1.3, 1.4, 2.1, 2.5, 4.1, 7.1, 9.3) × 10 districts, and 10
    # city-level (1.5, 5.1, 6.1, 8.1, 8.2, 8.3, 9.1, 9.2, 10.1, 11.1): plan_task_items, counted by hand
    assert checked == len(rows) == 9 * 10 + 10
    statuses = {r["status_zh"] for r in rows}
    assert {"未开始", "进行中", "已完成", "逾期", "已销号"} <= statuses      # the sample shows every status


def test_measured_inspection_items_follow_the_plan_lines(built):
    progress = {(r["district_code"], r["scope"]): r["inspected_pct"] for r in _rows(
        built.home, """SELECT district_code, scope, inspected_pct FROM marts.district_progress
                                 WHERE as_of = (SELECT max(as_of) FROM marts.district_progress
                                                WHERE as_of <= DATE '2025-06-30')""")}
    rows = _rows(built.home, """SELECT DISTINCT item_code, district_code, status_zh FROM marts.task_ledger
                                          WHERE item_code IN ('2.3', '2.4')""")
    assert rows
    for row in rows:
        pct = progress[(row["district_code"], "built_up" if row["item_code"] == "2.3" else "industrial_park")]
        if pct >= 100:
            assert row["status_zh"] == "已完成", row
        elif pct < 60:
            assert row["status_zh"] == "逾期", row                # 60 % was due on 2024-12-31
        else:
            assert row["status_zh"] == "进行中", row
    # a district without industrial-park network has no 2.4 row (nothing to inspect there)
    assert {(r["district_code"]) for r in rows if r["item_code"] == "2.4"} == \
        {d for d, s in progress if s == "industrial_park"}
