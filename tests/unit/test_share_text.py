"""Chinese names from dbt descriptions, and formula-injection neutralisation (expected values by hand)."""
from __future__ import annotations

import pytest

from pipelines import duck
from pipelines.publish.safe_text import install, restore_text, safe_text
from pipelines.share.dictionary import zh_name, zh_summary


@pytest.mark.parametrize("description, expected", [
    ("管段编号（普查主键）。Pipe segment ID (census key).", "管段编号"),
    ("上游（含本管段起点井）有效排水许可量合计（m³/d）。Valid permitted volume upstream.", "上游有效排水许可量合计"),
    ("原因：结构性缺陷等级 III–IV。Reason: structural grade III–IV.", "原因：结构性缺陷等级 III–IV"),
    ("类型：cycle 环路上的检查井；dead_end …", "类型"),
    ("进水 BOD5 样品数。Influent BOD5 samples.", "进水 BOD5 样品数"),
    ("Only English here.", ""),
])
def test_zh_name(description, expected):
    assert zh_name(description) == expected


def test_zh_summary_keeps_the_chinese_part():
    assert zh_summary("执法统计：每个区县一行。Cases per district.") == "执法统计：每个区县一行。"


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+86 576", "'+86 576"), ("-5", "'-5"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("甲公司", "甲公司"), ("a=b", "a=b"), ("", ""), (None, None), (-5, -5),
])
def test_safe_text_python_and_sql_agree(value, expected):
    assert safe_text(value) == expected
    assert restore_text(safe_text(value)) == value
    con = duck.connect(extensions=())
    try:
        install(con)
        if isinstance(value, str) or value is None:
            assert con.execute("SELECT safe_text(?::VARCHAR)", [value]).fetchone()[0] == expected
    finally:
        con.close()
