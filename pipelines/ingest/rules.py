"""Quarantine rule codes (sources/README.md) with the words bureau staff read, Chinese then English."""
from __future__ import annotations

RULES: dict[str, tuple[str, str]] = {
    "required": ("必填字段为空", "a required field is empty"),
    "type": ("无法识别的数值/日期", "the value cannot be read as the column's type"),
    "enum": ("不在允许的取值范围", "not one of the allowed values"),
    "range": ("数值超出合理范围", "outside the plausible range"),
    "pattern": ("格式不符合规定", "does not match the required format"),
    "credit_code": ("统一社会信用代码校验位错误", "fails the GB 32100-2015 credit-code checksum or alphabet"),
    "permit_credit_code": ("排污许可证编号与信用代码不符",
                           "the first 18 characters of the HJ 608 permit number differ from the credit code"),
    "grade_for_code": ("该缺陷代码没有此等级", "CJJ 181-2012 has no such grade for this defect code"),
    "date_order": ("日期先后矛盾", "an end date lies before its start date"),
    "duplicate_row": ("与本文件中前一行完全重复", "an exact copy of an earlier data row of the same file"),
    "duplicate_key": ("主键在本文件中重复", "same primary key as an earlier row of the same file, different content"),
    "hj212_frame": ("数据包结构不完整", "not `##` + 4 digits + data + 4 hex CRC (truncated or garbled)"),
    "hj212_length": ("数据段长度与长度字段不符", "the 4-digit length field differs from the data segment length"),
    "hj212_crc": ("CRC校验失败", "the HJ 212-2017 CRC of the data segment differs from the packet's CRC"),
    "geometry": ("几何图形无效或缺失", "missing, empty or invalid geometry"),
}

# What a `type` failure means, per column type.
TYPE_WORDS: dict[str, tuple[str, str]] = {
    "integer": ("无法识别为整数", "not an integer"),
    "decimal": ("无法识别为数值（或单位不认识）", "not a number (or an unknown unit)"),
    "date": ("无法识别为日期", "not a date"),
    "timestamp": ("无法识别为时间", "not a date-time"),
    "year": ("无法识别为年份", "not a year"),
    "pipe_size": ("无法识别为管径（如 DN400、400mm、1000×900）", "not a pipe size (DN400, 400mm, 1000×900)"),
    "list": ("无法识别为列表", "not a list"),
}


def rule_text(rule: str) -> tuple[str, str]:
    return RULES[rule]
