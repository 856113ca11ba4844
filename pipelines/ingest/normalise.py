"""Normalisation, once: the SQL macros every value of every feed passes through.

Bureaus write the same value many ways (DOMAIN.md §3). All of them are turned into one form here, as
DuckDB macros applied to a whole file in one statement: full-width characters, empty markers, numbers
with units inside (``12.5万元``, ``400mm``), date styles and Excel serials, pipe sizes (``DN400``,
``1000×900``), districts (via ``sources/reference/districts.csv``). Enumerations and per-column unit
factors are generated from the contract by ``pipelines.ingest.validate`` with the helpers below.

The macros are TEMP: they live in the loading connection, never in the warehouse catalogue.
"""
from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path

import duckdb

from pipelines.home import SOURCES_DIR
from pipelines.identifiers import CREDIT_CODE_SQL_MACRO

DISTRICTS_CSV = SOURCES_DIR / "reference" / "districts.csv"

# U+FF01..U+FF5E are the full-width forms of ASCII 0x21..0x7E; U+3000 is the ideographic space.
FULLWIDTH = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000\u00a0"
HALFWIDTH = "".join(chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)) + "  "
FOLD_EXTRA = "\t\r\n"
FULLWIDTH_RE = "[\uff01-\uff5e\u3000\u00a0]"

# Cell texts that mean "no value" in bureau exports. A census gap such as an unknown install year is
# data (the field is empty), not an error; for a required field it is reported as `required`.
EMPTY_MARKERS = ("/", "-", "--", "—", "——", "－", "不详", "未知", "不明", "暂无", "NULL", "null", "None",
                 "none", "NaN", "nan", "N/A", "n/a", "#N/A")

NUMBER_RE = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
# A number with an optional unit written after it: `12.5万元`, `400 mm`, `3.2km`.
NUMBER_UNIT_RE = rf"^({NUMBER_RE})\s*(\D*)$"
# A lab value below the detection limit (`<0.05`, `＜0.05`, `未检出`, `ND`): a censored measurement, not a
# number and not an error. It is stored as NULL, the text kept, and counted as a finding (kind `censored`).
CENSORED_RE = r"^(?:[<≤]|小于|低于)\s*" + NUMBER_RE + r"\s*\D*$|^(?:未检出|ND|N\.D\.|nd|<DL|低于检出限)$"
DATE_FORMATS = (
    "%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日",
    "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M",
    "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y年%m月%d日 %H:%M:%S",
)
# Only these shapes are handed to strptime, so that `24-5-6` or `2024-5` never parse as some date.
DATE_SHAPE_RE = (r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[ T]\d{1,2}:\d{1,2}(?::\d{1,2}(?:\.\d+)?)?)?"
                 r"|\d{4}年\d{1,2}月\d{1,2}日(?: \d{1,2}:\d{1,2}:\d{1,2})?|\d{8}")
TIMESTAMP_FORMATS = ("%Y%m%d%H%M%S", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
                     "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M")
# Excel stores dates as days since 1899-12-30; five digits cover 1927..2173.
EXCEL_SERIAL_RE = r"\d{5}(?:\.\d+)?"
PIPE_BOX_RE = r"^B?(\d+(?:\.\d+)?)(?:MM)?\s*[×X*✕]\s*H?(\d+(?:\.\d+)?)\s*(MM|毫米)?$"
PIPE_ROUND_RE = r"^(?:DN|DE|D|Φ|Ø)?\s*(\d+(?:\.\d+)?)\s*(MM|毫米|CM|M|米)?$"
# Between the items of a list cell (涉及管段编号): commas, semicolons and 、 of either width, a slash, spaces.
LIST_SEPARATORS_RE = r"[,;、，；/／\s]+"

# Unit spellings → factor to the stored unit, per stored unit. Keys are folded: lower case, `³` → `3`,
# no spaces, full-width folded. The empty key is "bare number" and is decided per column and header.
UNIT_FACTORS: dict[str, dict[str, float]] = {
    "m": {"m": 1, "米": 1, "km": 1000, "公里": 1000, "千米": 1000, "cm": 0.01, "厘米": 0.01,
          "mm": 0.001, "毫米": 0.001},
    "mm": {"mm": 1, "毫米": 1, "cm": 10, "厘米": 10, "m": 1000, "米": 1000},
    "yuan": {"元": 1, "千元": 1e3, "万元": 1e4, "万": 1e4, "亿元": 1e8, "亿": 1e8},
    "m3/d": {"m3/d": 1, "立方米/日": 1, "立方米/天": 1, "方/日": 1, "方/天": 1, "吨/日": 1, "吨/天": 1,
             "t/d": 1, "万m3/d": 1e4, "万立方米/日": 1e4, "万立方米/天": 1e4, "万吨/日": 1e4,
             "万吨/天": 1e4, "万t/d": 1e4, "万方/日": 1e4, "万": 1e4},
    "m3/h": {"m3/h": 1, "立方米/时": 1, "立方米/小时": 1, "吨/时": 1, "t/h": 1, "l/s": 3.6, "升/秒": 3.6},
    "mg/L": {"mg/l": 1, "毫克/升": 1, "g/l": 1000, "μg/l": 0.001, "ug/l": 0.001},
    "t/a": {"t/a": 1, "吨/年": 1, "吨": 1, "t": 1, "kg/a": 0.001, "千克/年": 0.001},
}


def sql_str(text: str) -> str:
    """A SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def sql_ident(name: str) -> str:
    """A quoted SQL identifier (column or table names may come from a file's headers)."""
    return '"' + str(name).replace('"', '""') + '"'


def fold_unit(text: str) -> str:
    """The folded spelling of a unit, as the `_u` part of a value is folded in SQL."""
    return text.translate(str.maketrans(FULLWIDTH, HALFWIDTH)).replace("³", "3").replace(" ", "").lower()


_FOLDED_FACTORS = {unit: {fold_unit(k): v for k, v in table.items()} for unit, table in UNIT_FACTORS.items()}


def unit_factor(stored_unit: str | None, written_unit: str) -> float | None:
    """Factor from a unit written in a file (a header or a value) to the stored unit; None if unknown."""
    if not stored_unit:
        return None
    table = _FOLDED_FACTORS.get(stored_unit, {fold_unit(stored_unit): 1.0})
    return table.get(fold_unit(written_unit))


def header_unit(header: str) -> str | None:
    """The unit written in a header, `许可排水量（m³/d）` → `m³/d`; None when there is none."""
    folded = header.translate(str.maketrans(FULLWIDTH, HALFWIDTH))
    match = re.search(r"\(([^()]*)\)\s*$", folded)
    return match.group(1).strip() if match else None


def bare_factor(stored_unit: str | None, source_unit: str | None, header: str | None) -> float:
    """What a bare number in this column means: the header's unit if it names one the column knows,
    else the contract's `source_unit`, else the stored unit itself."""
    if header:
        written = header_unit(header)
        if written:
            factor = unit_factor(stored_unit, written)
            if factor is not None:
                return factor
    if source_unit:
        factor = unit_factor(stored_unit, source_unit)
        if factor is not None:
            return factor
    return 1.0


def unit_factor_sql(unit_expr: str, stored_unit: str | None, bare: float | str) -> str:
    """CASE expression: factor for the folded unit text in ``unit_expr``; NULL for an unknown unit.
    ``bare`` (a number or a SQL expression) is the factor of a number written without a unit."""
    whens = [f"WHEN '' THEN {bare if isinstance(bare, str) else repr(bare)}"]
    table = _FOLDED_FACTORS.get(stored_unit or "", {})
    if stored_unit and stored_unit not in _FOLDED_FACTORS:
        table = {fold_unit(stored_unit): 1.0}
    for spelling, factor in table.items():
        whens.append(f"WHEN {sql_str(spelling)} THEN {float(factor)!r}")
    return f"(CASE {unit_expr} {' '.join(whens)} END)"


BRACKETS_FROM, BRACKETS_TO = "【】〔〕[]", "()()()"


def label_key(label: str) -> str:
    """The key a label is matched by: width folded, spaces removed, upper case, every bracket as ``()``."""
    text = str(label).translate(str.maketrans(FULLWIDTH + BRACKETS_FROM, HALFWIDTH + BRACKETS_TO))
    return re.sub(r"\s+", "", text).upper()


def enum_sql(value_sql: str, values: dict[str, object], integer: bool = False) -> str:
    """CASE expression mapping a (cleaned, i.e. width-folded) label to its code via a contract's ``values``
    map. Forgiven by rule, never by guess: case, spaces, the bracket style (``（）【】〔〕[]``), and a
    bracketed remark after the label (``已结案（归档）`` → ``已结案``) when the label itself is unknown. A code is
    accepted as itself; anything else → NULL (an unknown label)."""
    pairs: dict[str, object] = {}
    for label, code in values.items():
        pairs.setdefault(label_key(label), code)
    for code in values.values():
        pairs.setdefault(label_key(str(code)), code)
    whens = " ".join(f"WHEN {sql_str(k)} THEN {code if integer else sql_str(code)}" for k, code in pairs.items())
    # Most cells are a label as listed: one CASE. Only the rest pay for the bracket rules.
    plain = f"upper(replace({value_sql}, ' ', ''))"
    key = f"translate({plain}, {sql_str(BRACKETS_FROM)}, {sql_str(BRACKETS_TO)})"
    return (f"(CASE {plain} {whens} ELSE CASE {key} {whens} ELSE CASE WHEN contains({key}, '(') THEN "
            f"(CASE regexp_replace({key}, '\\([^()]*\\)', '', 'g') {whens} END) END END END)")


@lru_cache(maxsize=1)
def district_aliases(path: Path = DISTRICTS_CSV) -> dict[str, str]:
    """Every spelling of a district (name, aliases, codes incl. 331021) → its 6-digit code."""
    aliases: dict[str, str] = {}
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            code = row["district_code"].strip()
            for alias in [code, row["name_zh"], *row["aliases"].split("|")]:
                alias = alias.strip()
                if alias:
                    aliases[alias] = code
    return aliases


def _lit_list(items) -> str:
    return "[" + ", ".join(sql_str(i) for i in items) + "]"


def macro_sql() -> list[str]:
    """The CREATE MACRO statements (TEMP) of the normalisation layer."""
    district_cases = " ".join(f"WHEN {sql_str(a)} THEN {sql_str(c)}" for a, c in district_aliases().items())
    return [
        # Full-width → half-width (and tabs/line breaks → spaces), trimmed. translate() with a long map
        # costs microseconds a cell, so it runs only on cells that hold full-width characters or control
        # whitespace (ASCII cells skip even the character-class test: byte length = character length).
        f"""CREATE OR REPLACE TEMP MACRO ss_fold(s) AS (
              CASE WHEN (strlen(s::VARCHAR) <> length(s::VARCHAR)
                         AND regexp_matches(s::VARCHAR, {sql_str(FULLWIDTH_RE)}))
                        OR contains(s::VARCHAR, chr(9)) OR contains(s::VARCHAR, chr(10))
                        OR contains(s::VARCHAR, chr(13))
                   THEN trim(translate(s::VARCHAR, {sql_str(FULLWIDTH + FOLD_EXTRA)},
                                       {sql_str(HALFWIDTH + ' ' * len(FOLD_EXTRA))}))
                   WHEN prefix(s::VARCHAR, ' ') OR suffix(s::VARCHAR, ' ') THEN trim(s::VARCHAR)
                   ELSE s::VARCHAR END)""",
        # Empty and "no value" markers → NULL (argument already folded).
        # A scalar CASE, not `s IN (…)`: an IN list this long becomes a join in the plan, once per use of the
        # cleaned value (measured: 4–6 joins in the check statement, a third of its time).
        # No marker holds a digit: a cell that starts with one (numbers, dates, most codes) skips the list.
        f"""CREATE OR REPLACE TEMP MACRO ss_empty_null(s) AS (
              CASE WHEN ascii(s) BETWEEN 48 AND 57 THEN s
                   ELSE CASE s {' '.join(f'WHEN {sql_str(m)} THEN NULL' for m in ('', *EMPTY_MARKERS))} ELSE s END
              END)""",
        """CREATE OR REPLACE TEMP MACRO ss_clean(s) AS (ss_empty_null(ss_fold(s)))""",
        # Number text → DOUBLE (thousands separators allowed); anything else → NULL.
        f"""CREATE OR REPLACE TEMP MACRO ss_number(s) AS (
              CASE WHEN regexp_full_match(s, '[+-]?\\d{{1,3}}(,\\d{{3}})+(\\.\\d+)?')
                        THEN replace(s, ',', '')::DOUBLE
                   WHEN regexp_full_match(s, {sql_str(NUMBER_RE)}) THEN s::DOUBLE END)""",
        # {n, u}: the number and the folded unit written after it ('' when bare). No match → n NULL.
        # Bare numbers (most cells) take one regex; the unit path runs only for the rest.
        f"""CREATE OR REPLACE TEMP MACRO ss_number_unit_slow(s) AS (
              struct_pack(
                n := ss_number(regexp_extract(regexp_replace(s, '(\\d),(\\d{{3}})', '\\1\\2', 'g'),
                                              {sql_str(NUMBER_UNIT_RE)}, 1)),
                u := lower(replace(replace(regexp_extract(
                        regexp_replace(s, '(\\d),(\\d{{3}})', '\\1\\2', 'g'), {sql_str(NUMBER_UNIT_RE)}, 2),
                        '³', '3'), ' ', ''))))""",
        f"""CREATE OR REPLACE TEMP MACRO ss_number_unit(s) AS (
              CASE WHEN regexp_full_match(s, {sql_str(NUMBER_RE)}) THEN struct_pack(n := s::DOUBLE, u := '')
                   ELSE ss_number_unit_slow(s) END)""",
        f"""CREATE OR REPLACE TEMP MACRO ss_date(s) AS (
              CASE WHEN regexp_full_match(s, {sql_str(EXCEL_SERIAL_RE)})
                        THEN DATE '1899-12-30' + floor(s::DOUBLE)::INTEGER
                   WHEN regexp_full_match(s, {sql_str(DATE_SHAPE_RE)})
                        THEN try_strptime(s, {_lit_list(DATE_FORMATS)})::DATE END)""",
        f"""CREATE OR REPLACE TEMP MACRO ss_timestamp(s) AS (
              try_strptime(s, {_lit_list(TIMESTAMP_FORMATS)}))""",
        # A year: `1998`, `1998年`, `1998.0` (a number cell), or any date.
        """CREATE OR REPLACE TEMP MACRO ss_year(s) AS (
              CASE WHEN regexp_full_match(s, '\\d{4}(\\.0+)?年?') THEN substr(s, 1, 4)::INTEGER
                   ELSE year(ss_date(s)) END)""",
        # {d, w, h} in mm: `DN400`/`d400`/`400mm`/`0.4m` → d; `1000×900` (B×H) → w, h.
        f"""CREATE OR REPLACE TEMP MACRO ss_pipe_size(s) AS (
              CASE WHEN regexp_full_match(upper(s), {sql_str(PIPE_BOX_RE[1:-1])})
                   THEN struct_pack(d := NULL::DOUBLE,
                          w := regexp_extract(upper(s), {sql_str(PIPE_BOX_RE)}, 1)::DOUBLE,
                          h := regexp_extract(upper(s), {sql_str(PIPE_BOX_RE)}, 2)::DOUBLE)
                   WHEN regexp_full_match(upper(s), {sql_str(PIPE_ROUND_RE[1:-1])})
                   THEN struct_pack(
                          d := regexp_extract(upper(s), {sql_str(PIPE_ROUND_RE)}, 1)::DOUBLE
                               * CASE regexp_extract(upper(s), {sql_str(PIPE_ROUND_RE)}, 2)
                                     WHEN 'CM' THEN 10 WHEN 'M' THEN 1000 WHEN '米' THEN 1000 ELSE 1 END,
                          w := NULL::DOUBLE, h := NULL::DOUBLE) END)""",
        f"""CREATE OR REPLACE TEMP MACRO ss_list(s) AS (
              list_filter(list_transform(regexp_split_to_array(s, {sql_str(LIST_SEPARATORS_RE)}),
                                         x -> trim(x)), x -> x <> ''))""",
        f"""CREATE OR REPLACE TEMP MACRO ss_district_exact(s) AS (CASE s {district_cases} END)""",
        # `浙江省台州市椒江区` → 椒江区; codes and the older 玉环县 331021 map to 331083.
        """CREATE OR REPLACE TEMP MACRO ss_district(s) AS (
              coalesce(ss_district_exact(replace(s, ' ', '')),
                       ss_district_exact(regexp_replace(replace(s, ' ', ''), '^(浙江省)?(台州市)?', ''))))""",
        CREDIT_CODE_SQL_MACRO,
    ]


def install(con: duckdb.DuckDBPyConnection) -> None:
    """Define the normalisation macros on a connection (idempotent, connection-local)."""
    for statement in macro_sql():
        con.execute(statement)
