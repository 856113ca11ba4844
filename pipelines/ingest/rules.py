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


# What fixes a failure, per rule: the run summary prints it after a file's top reasons.
FIXES: dict[str, tuple[str, str]] = {
    "required": ("请报送单位补填该字段后重新报送", "ask the bureau to fill the field and send the file again"),
    "type": ("请报送单位按规定格式填写（日期如 2024-05-06，数值只写数字和单位）",
             "ask the bureau for the stated format (dates like 2024-05-06, numbers with a unit only)"),
    "enum": ("若是同一含义的另一种写法，在 sources/<feed>.yml 该字段的 values 中加一行同义词后重新运行；否则请报送单位改正",
             "if it is another spelling of a known value, add it to the field's values in sources/<feed>.yml "
             "and run again; otherwise ask the bureau to correct it"),
    "range": ("核对数值及其单位；确属合理时调整契约中的 range", "check the value and its unit; widen the contract's "
              "range only if the value is plausible"),
    "pattern": ("请报送单位按规定格式填写编号", "ask the bureau for the identifier in the stated format"),
    "credit_code": ("核对统一社会信用代码（常见为 I/O/S/V/Z 与数字混淆）",
                    "check the credit code (letters I/O/S/V/Z typed for digits are common)"),
    "permit_credit_code": ("核对排污许可证编号与持证单位信用代码", "check the permit number against the holder's credit code"),
    "grade_for_code": ("按 CJJ 181-2012 核对缺陷等级", "check the defect grade against CJJ 181-2012"),
    "date_order": ("核对起止日期是否填反", "check whether the start and end dates are swapped"),
    "duplicate_row": ("删除重复粘贴的行", "delete the row pasted twice"),
    "duplicate_key": ("同一编号只保留一行；更正请以新文件报送", "keep one row per key; send corrections as a later file"),
    "hj212_frame": ("检查数采仪传输（数据包不完整），补传该时段数据", "check the data logger link and resend the packets"),
    "hj212_length": ("检查数采仪传输（长度字段不符），补传该时段数据", "check the data logger link and resend the packets"),
    "hj212_crc": ("检查数采仪传输（CRC 错误），补传该时段数据", "check the data logger link and resend the packets"),
    "geometry": ("请报送单位按 CGCS2000 重新导出几何图形", "ask the bureau to export the geometry again (CGCS2000)"),
    "rejected": ("按拒收原因修正后重新报送；缺列时在契约 synonyms 中加入该表头写法",
                 "fix what the rejection names and send the file again; for a missing column, add the header's "
                 "spelling to the contract's synonyms"),
}


def fix_text(rule: str) -> tuple[str, str]:
    return FIXES.get(rule, ("请核对该字段", "check the field"))
