"""Masking of personal fields for recipient ``all``, evaluated in DuckDB."""
from __future__ import annotations

import pytest

from pipelines import duck
from pipelines.publish.policy import ALL, Recipient, select_list


@pytest.fixture
def con():
    con = duck.connect(extensions=())
    yield con
    con.close()


def masked_rows(con, mart, create_sql, recipient=ALL, meta=None):
    con.execute(f"CREATE OR REPLACE TABLE {mart} AS {create_sql}")
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {mart})").fetchall())
    select, masked = select_list(mart, list(types), types, recipient, meta)
    return con.execute(f"SELECT {select} FROM {mart} ORDER BY ALL").fetchall(), masked


def test_officers_and_phones_are_always_masked(con):
    rows, masked = masked_rows(con, "cases", """
        SELECT * FROM (VALUES ('ZF-1', '张三、李四', '13800001234', 3),
                              ('ZF-2', NULL, '0576-8888888', 1)) t(case_id, officer_names, contact_phone, n)""")
    assert masked == ["officer_names", "contact_phone"]
    assert rows == [("ZF-1", "张****", "138****1234", 3), ("ZF-2", None, "***", 1)]


def test_holder_names_are_masked_only_for_individuals(con):
    rows, masked = masked_rows(con, "permits", """
        SELECT * FROM (VALUES ('甲公司', 'industrial'), ('王小二', 'individual')) t(holder_name, holder_type)""")
    assert masked == ["holder_name"]
    assert rows == [("王**", "individual"), ("甲公司", "industrial")]


def test_without_the_condition_column_the_whole_column_is_masked(con):
    rows, _ = masked_rows(con, "holders", "SELECT * FROM (VALUES ('甲公司'), ('王小二')) t(holder_name)")
    assert rows == [("王**",), ("甲**",)]


def test_discharger_names_of_individual_businesses_are_masked(con):
    rows, masked = masked_rows(con, "discharger_profile", """
        SELECT * FROM (VALUES ('91130200699229617X', '甲公司', false),
                              ('92330100MA2XXXXX1A', '李记小吃', false),
                              ('913502000728319549', '丙餐饮', true)) t(credit_code, name, holder_is_individual)""")
    assert masked == ["name"]
    assert dict((r[0], r[1]) for r in rows) == {
        "91130200699229617X": "甲公司", "92330100MA2XXXXX1A": "李***", "913502000728319549": "丙**"}


def test_dbt_meta_declares_personal_columns_and_recipients_may_see_their_own(con):
    sql = "SELECT * FROM (VALUES ('赵六', 'x')) t(inspector, other)"
    meta = {"inspector": {"personal": True}}
    assert masked_rows(con, "m", sql, meta=meta)[0] == [("赵**", "x")]
    owner = Recipient(name="urban_management", unmasked=frozenset({"m.inspector"}))
    assert masked_rows(con, "m", sql, recipient=owner, meta=meta)[0] == [("赵六", "x")]
