"""Generate the raw-level suites ``expectations/raw/<feed>.json`` from the feed contracts.

    python -m pipelines.quality.generate          # rewrite the raw suites
    python -m pipelines.quality.generate --check  # exit 1 when a checked-in suite is out of date

The contract is the single statement of what a feed holds, so the raw suite restates it as expectations:
schema (columns and types), required fields, the primary key within a file, enumerations, ranges, patterns,
the credit-code checksum and the row rules. At raw level these are ERROR: the loader quarantines rows that break
them, so a violation in ``raw`` means the loader or the warehouse is broken. Plausibility across fields that the
contract does not enforce (BOD5/COD, a defect beyond the inspected length) is WARN. The few expectations that are
not in the contract are listed in ``EXTRA`` below with their reason.
"""
from __future__ import annotations

import argparse
import csv
import sys
from typing import Any

from pipelines.contracts import Column, Contract, load_contracts
from pipelines.home import EXPECTATIONS_DIR, SOURCES_DIR
from pipelines.quality.suites import Suite, dumps_readable, write_suite

LINEAGE = {
    "_file_id": "any", "_source_file": "text", "_source_row": "integer", "_row_hash": "any",
    "_valid_from": "timestamp", "_valid_to": "timestamp", "_is_current": "boolean", "_unmapped": "any",
}
_FAMILY = {"text": "text", "integer": "integer", "year": "integer", "decimal": "numeric", "date": "date",
           "timestamp": "timestamp", "district": "text", "list": "text_list", "geometry": "geometry"}
_PIPE_SIZE = ("diameter_mm", "box_width_mm", "box_height_mm")


def _exp(type_: str, severity: str, description_zh: str, **kwargs: Any) -> dict[str, Any]:
    return {"type": type_, "kwargs": kwargs, "meta": {"severity": severity, "description_zh": description_zh}}


def district_codes() -> list[str]:
    with open(SOURCES_DIR / "reference" / "districts.csv", encoding="utf-8") as fh:
        return sorted(row["district_code"] for row in csv.DictReader(fh))


def column_families(contract: Contract) -> dict[str, str]:
    families: dict[str, str] = {}
    for col in contract.columns:
        if col.type == "pipe_size":
            families.update({name: "integer" for name in _PIPE_SIZE})
        elif col.type == "enum":
            codes = set(col.values.values())
            families[col.name] = "integer" if all(isinstance(v, int) for v in codes) else "text"
        else:
            families[col.name] = _FAMILY[col.type]
    for spec in contract.factors.values():
        families[f"{spec['name']}_avg"] = "numeric"
        families[f"{spec['name']}_flag"] = "text"
    families.update(LINEAGE)
    return families


def _column_expectations(col: Column, districts: list[str]) -> list[dict[str, Any]]:
    out = []
    names = list(_PIPE_SIZE) if col.type == "pipe_size" else [col.name]
    # A descriptive column is NULL where the bureau's value could not be read (the record is kept, with a
    # finding): only identity and structural columns are never NULL when required.
    if col.required and col.strict and col.type != "pipe_size":
        out.append(_exp("expect_column_values_to_not_be_null", "ERROR", f"{col.zh}为必填字段，不能为空",
                        column=col.name))
    if col.type == "enum":
        codes = sorted(set(col.values.values()), key=str)
        out.append(_exp("expect_column_values_to_be_in_set", "ERROR",
                        f"{col.zh}须为契约列出的取值之一", column=col.name, value_set=codes))
    if col.type == "district":
        out.append(_exp("expect_column_values_to_be_in_set", "ERROR",
                        f"{col.zh}须为台州市区县代码（GB/T 2260 或项目本地代码）", column=col.name,
                        value_set=districts))
    if col.range is not None:
        lo, hi = col.range
        unit = f"（{col.unit}）" if col.unit else ""
        for name in names:
            out.append(_exp("expect_column_values_to_be_between", "ERROR",
                            f"{col.zh}须在 {lo}–{hi}{unit} 之间", column=name, min_value=lo, max_value=hi))
    if col.pattern:
        out.append(_exp("expect_column_values_to_match_regex", "ERROR", f"{col.zh}格式须符合 {col.pattern}",
                        column=col.name, regex=col.pattern))
    if col.credit_code:
        out.append(_exp("expect_column_values_to_be_in_set", "ERROR",
                        f"{col.zh}须通过 GB 32100-2015 校验位计算", column=f"chk_{col.name}_checksum",
                        value_set=[True]))
    if col.type == "geometry":
        kinds = [col.geometry_type] if col.geometry_type else ["POINT", "LINESTRING"]
        out.append(_exp("expect_column_values_to_not_be_null", "ERROR", "几何图形不能缺失", column=col.name))
        out.append(_exp("expect_column_values_to_be_in_set", "ERROR",
                        f"几何图形须为有效的 {'/'.join(kinds)}（INVALID 表示自相交等无效图形）",
                        column=col.name, value_set=kinds))
    return out


def _row_rule_expectations(contract: Contract) -> tuple[list[dict[str, Any]], dict[str, str]]:
    out, derived = [], {}
    for rule in contract.row_rules:
        fields = rule["fields"]
        zh = [contract.column(f).zh for f in fields]
        if rule["rule"] == "date_order":
            out.append(_exp("expect_column_pair_values_a_to_be_greater_than_b", "ERROR",
                            f"{zh[1]}不能早于{zh[0]}", column_A=fields[1], column_B=fields[0], or_equal=True,
                            ignore_row_if="either_value_is_missing"))
        elif rule["rule"] == "permit_credit_code":
            derived["chk_permit_no_holder"] = f"substr({fields[0]}, 1, 18)"
            out.append(_exp("expect_column_pair_values_to_be_equal", "ERROR",
                            f"{zh[0]}前18位须等于持证单位的{zh[1]}", column_A="chk_permit_no_holder",
                            column_B=fields[1], ignore_row_if="either_value_is_missing"))
        elif rule["rule"] == "grade_for_code":
            # CJJ 181-2012 tables 8.2.3 / 8.3.3: codes whose grade table stops early (DOMAIN.md §6).
            derived["chk_grade_for_code"] = (
                "NOT ((defect_code IN ('FS', 'AJ', 'CR', 'FZ') AND defect_grade > 3) "
                "OR (defect_code = 'TL' AND defect_grade > 2))")
            out.append(_exp("expect_column_values_to_be_in_set", "ERROR",
                            "缺陷等级须为该缺陷代码在 CJJ 181-2012 中存在的等级", column="chk_grade_for_code",
                            value_set=[True]))
        elif rule["rule"] == "required" and rule.get("when") == "defect_code is not empty":
            derived["chk_grade_when_defect"] = "defect_code IS NULL OR defect_grade IS NOT NULL"
            out.append(_exp("expect_column_values_to_be_in_set", "ERROR", "有缺陷代码时缺陷等级必填",
                            column="chk_grade_when_defect", value_set=[True]))
        elif rule["rule"] == "required" and rule.get("when") == "both empty":
            derived["chk_has_location"] = " OR ".join(f"{f} IS NOT NULL" for f in fields)
            out.append(_exp("expect_column_values_to_be_in_set", "ERROR", f"{zh[0]}与{zh[1]}至少填一项",
                            column="chk_has_location", value_set=[True]))
    return out, derived


def _factor_expectations(contract: Contract) -> list[dict[str, Any]]:
    out = []
    flags = sorted(contract.flags)
    for code, spec in contract.factors.items():
        name, lo, hi = spec["name"], *spec["range"]
        unit = f"（{spec['unit']}）" if spec.get("unit") else ""
        out.append(_exp("expect_column_values_to_be_between", "ERROR",
                        f"{spec['zh']}（{code}）均值须在 {lo}–{hi}{unit} 之间", column=f"{name}_avg",
                        min_value=lo, max_value=hi))
        out.append(_exp("expect_column_values_to_be_in_set", "WARN",
                        f"{spec['zh']}（{code}）数据标记须为 HJ 212 规定的标记 {''.join(flags)}",
                        column=f"{name}_flag", value_set=flags))
    return out


# Expectations the contract does not state, with their reason (see the docstring).
EXTRA: dict[str, tuple[list[dict[str, Any]], dict[str, str]]] = {
    "census_pipes": ([
        _exp("expect_column_values_to_not_be_null", "ERROR", "长度缺失时应由几何计算，入库后不能为空",
             column="length_m"),
    ], {}),
    "inspections": ([
        _exp("expect_column_pair_values_a_to_be_greater_than_b", "WARN", "缺陷位置不应超出检测长度",
             column_A="inspected_length_m", column_B="defect_position_m", or_equal=True,
             ignore_row_if="either_value_is_missing"),
    ], {}),
    "plant_lab": ([
        _exp("expect_column_pair_values_a_to_be_greater_than_b", "WARN",
             "BOD5 不应高于 COD（化学需氧量包含可生化部分）", column_A="cod_mg_l", column_B="bod5_mg_l",
             or_equal=True, ignore_row_if="either_value_is_missing"),
        _exp("expect_column_values_to_be_between", "WARN",
             "进水 BOD5/COD 比值应在 0.1–0.8 之间（超出多为录入或检测错误）", column="chk_influent_bod5_cod_ratio",
             min_value=0.1, max_value=0.8),
    ], {"chk_influent_bod5_cod_ratio":
        "CASE WHEN sampling_point = 'influent' AND cod_mg_l > 0 THEN bod5_mg_l / cod_mg_l END"}),
    "plant_online": ([
        _exp("expect_column_values_to_be_in_set", "ERROR", "数据日期须等于数据时间的日期",
             column="chk_data_date_matches", value_set=[True]),
    ], {"chk_data_date_matches": "data_date = CAST(data_time AS DATE)"}),
}

ROW_COUNT_CHANGE_RAW = {"severity": "WARN", "max_drop_pct": 0, "max_growth_pct": None,
                        "description_zh": "原始层保留全部历史版本，行数不应减少"}


def build_raw_suite(contract: Contract, districts: list[str]) -> Suite:
    families = column_families(contract)
    derived: dict[str, str] = {}
    exps = [_exp("expect_table_columns_to_match_set", "ERROR", "表结构须包含契约规定的全部列",
                 column_set=sorted(families), exact_match=False)]
    pk_zh = "同一文件内主键（" + "、".join(contract.column(k).zh for k in contract.primary_key) + "）不能重复"
    if len(contract.primary_key) == 1:
        exps.append(_exp("expect_column_values_to_be_unique", "ERROR", pk_zh, column=contract.primary_key[0]))
    else:
        exps.append(_exp("expect_compound_columns_to_be_unique", "ERROR", pk_zh,
                         column_list=list(contract.primary_key)))
    for col in ("_file_id", "_source_row", "_row_hash"):
        exps.append(_exp("expect_column_values_to_not_be_null", "ERROR", "每行须保留来源文件与行号（数据血缘）",
                         column=col))
    for col in contract.columns:
        exps.extend(_column_expectations(col, districts))
        if col.credit_code:
            derived[f"chk_{col.name}_checksum"] = f"{col.name} IS NULL OR is_valid_credit_code({col.name})"
    exps.extend(_factor_expectations(contract))
    rule_exps, rule_derived = _row_rule_expectations(contract)
    exps.extend(rule_exps)
    derived.update(rule_derived)
    extra_exps, extra_derived = EXTRA.get(contract.feed, ([], {}))
    exps.extend(extra_exps)
    derived.update(extra_derived)
    meta: dict[str, Any] = {
        "title_zh": f"{contract.title_zh}（原始层）",
        "feed": contract.feed,
        "owner": contract.owner,
        "asset_key": ["raw", contract.feed],
        "table": f"raw.{contract.feed}",
        "batch_by": contract.partition_by or "_file_id",
        # raw keeps every version: a correction file repeats a key of an earlier file, so keys are unique per file
        "unique_within": ["_file_id"],
        "primary_key": list(contract.primary_key),
        "closed": True,
        "columns": families,
        "derived": derived,
        "row_count_change": ROW_COUNT_CHANGE_RAW,
        "generated_from": f"sources/{contract.feed}.yml",
        "note_zh": "由 python -m pipelines.quality.generate 根据数据契约生成；请修改契约后重新生成，不要手工编辑。",
    }
    return Suite(name=f"raw.{contract.feed}", expectations=tuple(exps), meta=meta)


def build_raw_suites() -> dict[str, Suite]:
    districts = district_codes()
    return {feed: build_raw_suite(c, districts) for feed, c in load_contracts().items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report suites that are out of date")
    args = parser.parse_args(argv)
    stale = []
    for feed, suite in build_raw_suites().items():
        path = EXPECTATIONS_DIR / "raw" / f"{feed}.json"
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != dumps_readable(suite):
            stale.append(feed)
            if not args.check:
                write_suite(suite, path)
    if args.check and stale:
        print("过期的期望套件 (out-of-date suites): " + ", ".join(stale), file=sys.stderr)
        return 1
    print(("已更新 " if stale and not args.check else "无变化 ") + ", ".join(stale))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
