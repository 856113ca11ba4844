"""The suite runner on a small DuckDB table: validation follows the batches that changed; ERROR failures are
validated again until fixed; WARN findings are carried; schema breaks are caught without any batch changing."""
from __future__ import annotations

import datetime as dt

import pytest

from pipelines import duck
from pipelines.quality.runner import run_suite
from pipelines.quality.suites import Suite


def _exp(type_, severity, **kwargs):
    return {"type": type_, "kwargs": kwargs, "meta": {"severity": severity, "description_zh": "测试"}}


SUITE = Suite(
    name="raw.readings",
    meta={"title_zh": "测试", "asset_key": ["raw", "readings"], "table": "raw.readings", "batch_by": "day",
          "closed": True, "columns": {"station": "text", "day": "date", "value": "numeric", "note": "text"},
          "derived": {"chk_value_positive": "value > 0"}, "primary_key": ["station", "day"],
          "index_columns": ["station", "day"]},
    expectations=(
        _exp("expect_table_columns_to_match_set", "ERROR", column_set=["station", "day", "value"], exact_match=False),
        _exp("expect_column_values_to_be_unique", "ERROR", column="station"),  # per batch: per day
        _exp("expect_compound_columns_to_be_unique", "ERROR", column_list=["station", "value"]),
        _exp("expect_column_values_to_be_between", "ERROR", column="value", min_value=0, max_value=100),
        _exp("expect_column_values_to_be_between", "ERROR", column="day", min_value="2024-01-01",
             max_value="2024-12-31"),
        _exp("expect_column_values_to_be_in_set", "WARN", column="chk_value_positive", value_set=[True]),
    ),
)


@pytest.fixture
def con(tmp_path):
    con = duck.connect(tmp_path / "w.duckdb", extensions=())
    con.execute("CREATE SCHEMA raw; CREATE TABLE raw.readings (station VARCHAR, day DATE, value DOUBLE, note VARCHAR)")
    for i in range(3):
        day = dt.date(2024, 5, 1) + dt.timedelta(days=i)
        con.executemany("INSERT INTO raw.readings VALUES (?, ?, ?, NULL)", [["A", day, 10.0], ["B", day, 20.0]])
    yield con
    con.close()


def run(con, state):
    outcome, state, _ = run_suite(con, SUITE, state)
    return outcome, state


def failed(outcome):
    return {f.label: (f.severity, f.unexpected_count, f.carried) for f in outcome.failed}


def test_a_new_day_validates_that_day_only(con):
    fingerprint = SUITE.fingerprint
    first, state = run(con, {})
    assert SUITE.fingerprint == fingerprint  # running a suite must not change it (it would revalidate all)
    assert first.passed and sorted(first.batches_validated) == ["2024-05-01", "2024-05-02", "2024-05-03"]
    again, state = run(con, state)
    assert again.passed and again.batches_validated == [] and again.reused
    con.execute("INSERT INTO raw.readings VALUES ('A', '2024-05-04', 11, NULL), ('B', '2024-05-04', 12, NULL)")
    new_day, state = run(con, state)
    assert new_day.batches_validated == ["2024-05-04"] and new_day.batches_total == 4
    con.execute("UPDATE raw.readings SET value = 15 WHERE station = 'A' AND day = '2024-05-02'")
    corrected, _ = run(con, state)
    assert corrected.batches_validated == ["2024-05-02"]


def test_uniqueness_holds_per_batch(con):
    # station repeats across days (fine) but not within one day
    assert run(con, {})[0].passed
    con.execute("INSERT INTO raw.readings VALUES ('A', '2024-05-02', 30, NULL)")
    outcome, _ = run(con, {})
    assert failed(outcome)["expect_column_values_to_be_unique(station)"][:2] == ("ERROR", 2)


def test_error_batches_are_validated_until_fixed(con):
    _, state = run(con, {})
    con.execute("UPDATE raw.readings SET value = 250 WHERE station = 'B' AND day = '2024-05-03'")
    for _ in range(2):  # the failing day is not recorded as validated, so it is read again
        outcome, state = run(con, state)
        assert outcome.batches_validated == ["2024-05-03"]
        assert failed(outcome)["expect_column_values_to_be_between(value)"][:2] == ("ERROR", 1)
        assert outcome.severity == "ERROR"
        assert any(s.get("station") == "B" for f in outcome.failed for s in f.samples if isinstance(s, dict))
    con.execute("UPDATE raw.readings SET value = 25 WHERE station = 'B' AND day = '2024-05-03'")
    outcome, state = run(con, state)
    assert outcome.passed
    assert run(con, state)[0].batches_validated == []


def test_iso_date_bounds_apply_to_date_columns(con):
    con.execute("INSERT INTO raw.readings VALUES ('A', '2023-12-31', 5, NULL)")
    outcome, _ = run(con, {})
    assert failed(outcome)["expect_column_values_to_be_between(day)"][:2] == ("ERROR", 1)


def test_warnings_are_carried_while_their_batch_is_unchanged(con):
    con.execute("UPDATE raw.readings SET value = 0 WHERE station = 'A' AND day = '2024-05-01'")
    outcome, state = run(con, {})
    assert outcome.severity == "WARN" and not outcome.blocking_failed
    con.execute("INSERT INTO raw.readings VALUES ('A', '2024-05-09', 11, NULL)")
    later, state = run(con, state)
    assert later.batches_validated == ["2024-05-09"]
    assert failed(later)["expect_column_values_to_be_in_set(chk_value_positive)"] == ("WARN", 1, True)
    con.execute("UPDATE raw.readings SET value = 3 WHERE value = 0")
    assert run(con, state)[0].passed


def test_schema_break_is_caught_without_a_changed_batch(con):
    _, state = run(con, {})
    con.execute("ALTER TABLE raw.readings RENAME COLUMN note TO remark")
    outcome, _ = run(con, state)
    schema = next(f for f in outcome.failed if f.label.startswith("schema"))
    assert schema.severity == "ERROR"
    assert "缺少列 missing note" in schema.samples and "多出列 unexpected remark" in schema.samples
    con.execute("ALTER TABLE raw.readings ALTER value TYPE VARCHAR")
    outcome, _ = run(con, {})
    assert any("value: VARCHAR" in s for f in outcome.failed for s in f.samples if isinstance(s, str))
