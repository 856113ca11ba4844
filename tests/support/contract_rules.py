"""The contracts' row rules, stated for the tests only: records that break them, and SQL that finds them broken.

A test oracle, written from sources/README.md (the rule codes and what each means), not from pipelines/ingest:

- ``cases(contract, base)``: for every rule a contract states, records that break exactly that rule, each with
  the ``(field, rule)`` reason the loader must give (``packet_cases`` for HJ 212 logs). They are derived from
  the contract, so a rule added to a contract brings its own cases along.
- ``quarantines(contract, reason)``: whether breaking that rule costs the record (sources/README.md, "Field
  roles": only a failure of an identity or structural field, or a whole-record rule, quarantines; a row rule
  counts as the role of the field it names; a descriptive failure keeps the record, typed NULL or the enum's
  ``other``, with its text in ``_unmapped`` and a finding).
- ``raw_violations(contract)``: one SQL query per rule counting the rows of ``raw.<feed>_current`` that break
  it. Whatever the loader was fed, every count must be 0 (a descriptive value that could not be read is NULL,
  which breaks no rule but ``required``, and ``required`` on a descriptive field only asks for a finding).
"""
from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from pipelines.contracts import Column, Contract
from pipelines.hj212 import frame
from pipelines.home import SOURCES_DIR
from pipelines.identifiers import CREDIT_ALPHABET

CREDIT_A = "91130200699229617X"    # valid check characters (DOMAIN.md §4)
CREDIT_B = "91350200776049653A"
# A cell that cannot be read as the column's type ("不详", "—" and the like mean empty, not garbage).
GARBAGE = {"integer": "x12", "decimal": "x12.5", "date": "2024-13-45", "year": "19x5",
           "timestamp": "2024-13-45 25:61:00", "pipe_size": "DN四百"}
PIPE_SIZE_COLUMNS = ("diameter_mm", "box_width_mm", "box_height_mm")


@dataclass
class Case:
    name: str
    changes: dict[str, Any] = field(default_factory=dict)   # canonical column → cell (None: empty)
    expect: tuple[str | None, str] = (None, "")              # the reason the loader must give
    copy: str | None = None        # "row": an exact copy of the valid row before it; "key": same key, new content


def quarantines(contract: Contract, reason: tuple[str | None, str]) -> bool:
    """Whether a record broken for ``reason`` (field, rule) is quarantined rather than kept with a finding."""
    field, _ = reason
    if field is None:
        return True                    # duplicates, HJ 212 framing: whole-record rules
    names = {c.name: c for c in contract.columns}
    column = names.get(field)
    if column is None:                 # an HJ 212 factor's value or flag: measured values are structural
        return True
    return column.role != "descriptive"


def finding_kind(rule: str) -> str:
    """The finding a descriptive failure leaves (sources/README.md: missing_value, unknown_label, invalid_value)."""
    return {"required": "missing_value", "enum": "unknown_label"}.get(rule, "invalid_value")


def _label(column: Column, code: Any) -> str:
    """A label the bureau may write for an enum code."""
    return next(label for label, value in column.values.items() if value == code)


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _range_cases(column: Column) -> list[Case]:
    lo, hi = column.range
    if column.type == "date":
        below, above = (_date(lo) - dt.timedelta(days=1)).isoformat(), (_date(hi) + dt.timedelta(days=1)).isoformat()
    elif column.type == "year":
        below, above = str(int(lo) - 1), str(int(hi) + 1)
    elif column.type == "pipe_size":
        below, above = f"DN{max(1, int(lo) // 10)}", f"DN{int(hi) * 10}"
    elif column.type == "integer":
        below, above = str(int(lo) - 1000 * (abs(int(lo)) + 1)), str(int(hi) * 1000 + 1000)
    else:  # decimal: far enough out that no unit of the header (万元, km, …) brings it back in
        below, above = f"{float(lo) - 1e6 * (abs(float(lo)) + 1):.1f}", f"{float(hi) * 1e6 + 1e6:.1f}"
    return [Case(f"{column.name}:range:below", {column.name: below}, (column.name, "range")),
            Case(f"{column.name}:range:above", {column.name: above}, (column.name, "range"))]


def _free_text(contract: Contract) -> str | None:
    """A text column no rule reads: changing it changes a record's content and nothing else."""
    ruled = {f for r in contract.row_rules for f in r.get("fields", [])} | set(contract.primary_key)
    return next((c.name for c in contract.columns if c.type == "text" and not c.pattern and not c.credit_code
                 and not c.derived and c.name not in ruled), None)


def cases(contract: Contract, base: dict[str, Any]) -> list[Case]:
    """Records that each break one rule of a tabular or geo contract (``base``: a valid record, canonical
    column → cell, used where a rule needs a valid value beside the broken one)."""
    out: list[Case] = []
    for c in contract.columns:
        if c.derived:
            continue
        if c.type == "geometry":
            out.append(Case(f"{c.name}:geometry:missing", {c.name: None}, (c.name, "geometry")))
            out.append(Case(f"{c.name}:geometry:outside_taizhou", {c.name: "far"}, (c.name, "geometry")))
            continue
        if c.required:
            out.append(Case(f"{c.name}:required", {c.name: None}, (c.name, "required")))
        if c.type in GARBAGE:
            out.append(Case(f"{c.name}:type", {c.name: GARBAGE[c.type]}, (c.name, "type")))
        if c.type in ("enum", "district"):
            out.append(Case(f"{c.name}:enum", {c.name: "火星区" if c.type == "district" else "不存在的取值"},
                            (c.name, "enum")))
        if c.range is not None:
            out.extend(_range_cases(c))
        if c.pattern:
            out.append(Case(f"{c.name}:pattern", {c.name: "!" + str(base.get(c.name) or "X")}, (c.name, "pattern")))
        if c.credit_code:
            code = str(base.get(c.name) or CREDIT_A)
            wrong = next(ch for ch in CREDIT_ALPHABET if ch != code[17])
            out.append(Case(f"{c.name}:credit_code", {c.name: code[:17] + wrong}, (c.name, "credit_code")))
    for rule in contract.row_rules:
        code, names = rule["rule"], list(rule.get("fields", []))
        if code == "date_order":
            out.append(Case(f"{names[1]}:date_order", {names[0]: "2024-06-30", names[1]: "2024-06-01"},
                            (names[1], "date_order")))
        elif code == "permit_credit_code":
            other = CREDIT_A if not str(base.get(names[0]) or "").startswith(CREDIT_A) else CREDIT_B
            out.append(Case(f"{names[1]}:permit_credit_code", {names[1]: other}, (names[1], "permit_credit_code")))
        elif code == "grade_for_code":
            defect, grade = contract.column(names[0]), contract.column(names[1])
            every = sorted({g for grades in rule["grades"].values() for g in grades})
            kind, missing = next((k, g) for k, grades in rule["grades"].items() for g in every if g not in grades)
            out.append(Case(f"{names[1]}:grade_for_code", {defect.name: _label(defect, kind),
                                                          grade.name: _label(grade, missing) if grade.values else str(missing)},
                            (names[1], "grade_for_code")))
        elif code == "required" and rule.get("any_of"):
            out.append(Case(f"{names[-1]}:required:any_of", {n: None for n in names}, (names[-1], "required")))
        elif code == "required" and rule.get("if_filled"):
            given = {}
            for g in rule["if_filled"]:
                column = contract.column(g)
                given[g] = base.get(g) or (next(iter(column.values)) if column.values else "X")
            for n in names:
                out.append(Case(f"{n}:required:if_filled", {**given, n: None}, (n, "required")))
        else:
            raise AssertionError(f"{contract.feed}: no rule-breaking case for row rule {rule!r}: add one here")
    out.append(Case("duplicate_row", copy="row", expect=(None, "duplicate_row")))
    if _free_text(contract):
        out.append(Case("duplicate_key", copy="key", expect=(None, "duplicate_key")))
    return out


def vary_key(contract: Contract, record: dict[str, Any], i: int) -> dict[str, Any]:
    """The record under a key of its own (the i-th, i < 1000): a suffix on its first key column, or, where the
    column's pattern forbids one, its last three digits replaced (an HJ 608 permit number keeps its credit code)."""
    name = contract.primary_key[0]
    column, value = contract.column(name), str(record[name])
    candidates = [f"{value}T{i:03d}"]
    if re.search(r"\d{3}\D*$", value):
        end = re.search(r"\d{3}(\D*)$", value).start()
        candidates.append(value[:end] + f"{i:03d}" + value[end + 3:])
    chosen = next(v for v in candidates if not column.pattern or re.fullmatch(column.pattern, v))
    return {**record, name: chosen}


# --- HJ 212 packets -----------------------------------------------------------------------------------
def parse_packet(line: str) -> tuple[list[list[str]], list[list[str]]]:
    """A framed packet (without its CRLF) → (head fields, CP fields), each a list of [key, value] in order."""
    segment = line[6:-4]
    head, cp = segment.split(";CP=&&", 1)
    return ([kv.split("=", 1) for kv in head.split(";")],
            [kv.split("=", 1) for item in cp.rstrip("&").split(";") for kv in item.split(",")])


def render_packet(head: list[list[str]], cp: list[list[str]]) -> str:
    items, current = [], []
    for k, v in cp:  # one item per factor: w01018-Avg=…,w01018-Flag=…
        if current and k.split("-")[0] != current[0].split("=")[0].split("-")[0]:
            items.append(",".join(current))
            current = []
        current.append(f"{k}={v}")
    items.append(",".join(current))
    return frame(";".join(f"{k}={v}" for k, v in head) + ";CP=&&" + ";".join(items) + "&&").rstrip("\r\n")


def with_fields(line: str, **changes: str | None) -> str:
    """The packet with fields set (``None`` removes the field); factor fields are named as in the packet
    (``w01018_Avg`` for ``w01018-Avg``)."""
    head, cp = parse_packet(line)
    changes = {k.replace("_", "-"): v for k, v in changes.items()}
    head = [[k, changes.get(k, v)] for k, v in head if changes.get(k, v) is not None or k not in changes]
    cp = [[k, changes.get(k, v)] for k, v in cp if changes.get(k, v) is not None or k not in changes]
    return render_packet(head, cp)


def packet_time(line: str, hours: int) -> str:
    """The packet ``hours`` later (DataTime and QN), a key of its own."""
    head, cp = parse_packet(line)
    when = dt.datetime.strptime(dict(cp)["DataTime"], "%Y%m%d%H%M%S") + dt.timedelta(hours=hours)
    return with_fields(line, DataTime=f"{when:%Y%m%d%H%M%S}", QN=f"{when:%Y%m%d%H%M%S}000")


def packet_cases(contract: Contract) -> list[tuple[str, Any, tuple[str | None, str]]]:
    """(name, how to break a valid packet line, expected reason) for an HJ 212 contract."""
    out: list[tuple[str, Any, tuple[str | None, str]]] = [
        ("mn:required", lambda ln: with_fields(ln, MN=""), ("mn", "required")),
        ("cn:required", lambda ln: with_fields(ln, CN=None), ("cn", "required")),
        ("cn:enum", lambda ln: with_fields(ln, CN="9999"), ("cn", "enum")),
        ("data_time:type", lambda ln: with_fields(ln, DataTime="20251332250000"), ("data_time", "type")),
        ("data_time:required", lambda ln: with_fields(ln, DataTime=None), ("data_time", "required")),
        ("hj212_crc", lambda ln: ln[:-4] + ("0000" if ln[-4:] != "0000" else "FFFF"), (None, "hj212_crc")),
        ("hj212_length", lambda ln: ln[:2] + f"{int(ln[2:6]) + 1:04d}" + ln[6:], (None, "hj212_length")),
        ("hj212_frame", lambda ln: ln[:-12], (None, "hj212_frame")),
    ]
    flags = sorted(contract.flags)
    for code, factor in contract.factors.items():
        name, (lo, hi) = factor["name"], factor["range"]
        out += [
            (f"{name}_avg:range:above", lambda ln, c=code, v=hi * 10 + 10: with_fields(ln, **{f"{c}_Avg": f"{v}"}),
             (f"{name}_avg", "range")),
            (f"{name}_avg:range:below", lambda ln, c=code, v=lo - 10: with_fields(ln, **{f"{c}_Avg": f"{v}"}),
             (f"{name}_avg", "range")),
            (f"{name}_avg:type", lambda ln, c=code: with_fields(ln, **{f"{c}_Avg": "abc"}), (f"{name}_avg", "type")),
            (f"{name}_flag:enum", lambda ln, c=code: with_fields(ln, **{f"{c}_Flag": next(
                ch for ch in "ZYXWVQ" if ch not in flags)}), (f"{name}_flag", "enum")),
        ]
    return out


# --- what must never be in raw ------------------------------------------------------------------------
def district_codes() -> list[str]:
    with open(SOURCES_DIR / "reference" / "districts.csv", encoding="utf-8") as fh:
        return sorted(row["district_code"] for row in csv.DictReader(fh))


def _sql_list(values) -> str:
    return ", ".join(str(v) if isinstance(v, (int, float)) and not isinstance(v, bool)
                     else "'" + str(v).replace("'", "''") + "'" for v in values)


def raw_violations(contract: Contract) -> dict[str, str]:
    """Rule → SQL counting the current rows of ``raw.<feed>`` that break it (needs the credit-code macro,
    ``pipelines.identifiers.CREDIT_CODE_SQL_MACRO``, and spatial for geometry)."""
    table = f"raw.{contract.feed}_current"
    checks: dict[str, str] = {}

    def add(label: str, broken: str) -> None:
        checks[label] = f"SELECT count(*) FROM {table} WHERE {broken}"

    for c in contract.columns:
        if c.derived:
            continue
        names = list(PIPE_SIZE_COLUMNS) if c.type == "pipe_size" else [c.name]
        if c.required and c.role != "descriptive" and c.type != "pipe_size":
            add(f"{c.name}:required", f"{c.name} IS NULL")
        if c.type == "enum":
            add(f"{c.name}:enum", f"{c.name} NOT IN ({_sql_list(set(c.values.values()))})")
        if c.type == "district":
            add(f"{c.name}:district", f"{c.name} NOT IN ({_sql_list(district_codes())})")
        if c.range is not None:
            lo, hi = c.range
            if c.type == "date":
                lo, hi = f"DATE '{_date(lo)}'", f"DATE '{_date(hi)}'"
            for n in names:
                add(f"{n}:range", f"{n} < {lo} OR {n} > {hi}")
        if c.pattern:
            add(f"{c.name}:pattern", f"NOT regexp_full_match({c.name}, '{c.pattern}')")
        if c.credit_code:
            add(f"{c.name}:credit_code", f"{c.name} IS NOT NULL AND NOT is_valid_credit_code({c.name})")
        if c.type == "geometry":
            add(f"{c.name}:geometry", f"{c.name} IS NULL OR NOT ST_IsValid({c.name})")
    for rule in contract.row_rules:
        code, names = rule["rule"], list(rule.get("fields", []))
        if code == "required" and contract.column(names[-1]).role == "descriptive":
            continue                   # "should be filled": a finding, the record kept with NULL
        if code == "date_order":
            add(f"{names[1]}:date_order", f"{names[1]} < {names[0]}")
        elif code == "permit_credit_code":
            add(f"{names[1]}:permit_credit_code", f"substr({names[0]}, 1, 18) <> {names[1]}")
        elif code == "grade_for_code":
            for kind, grades in rule["grades"].items():
                add(f"{names[1]}:grade_for_code:{kind}", f"{names[0]} = '{kind}' AND {names[1]} NOT IN ({_sql_list(grades)})")
        elif code == "required" and rule.get("any_of"):
            add(f"{names[-1]}:required:any_of", " AND ".join(f"{n} IS NULL" for n in names))
        elif code == "required" and rule.get("if_filled"):
            filled = " AND ".join(f"{g} IS NOT NULL" for g in rule["if_filled"])
            for n in names:
                add(f"{n}:required:if_filled", f"{n} IS NULL AND {filled}")
        else:
            raise AssertionError(f"{contract.feed}: no SQL for row rule {rule!r}: add it here")
    for code, factor in contract.factors.items():
        lo, hi = factor["range"]
        add(f"{factor['name']}_avg:range", f"{factor['name']}_avg < {lo} OR {factor['name']}_avg > {hi}")
        add(f"{factor['name']}_flag:enum", f"{factor['name']}_flag NOT IN ({_sql_list(contract.flags)})")
    keys = ", ".join(contract.primary_key)
    checks["primary_key:one_current_version"] = (
        f"SELECT count(*) FROM (SELECT {keys} FROM {table} GROUP BY ALL HAVING count(*) > 1)")
    return checks
