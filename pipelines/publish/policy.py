"""Who receives what: the masking of personal fields (and, later, row filters) per recipient.

DOMAIN.md: enforcement officers' names, phone numbers and the names of individual businesses are personal; they
stay in the warehouse for the owning bureau and are masked in anything shared with others. The published copy
and ``extracts/all`` go to every bureau, so recipient ``all`` masks every personal field. A per-recipient extract
later is a ``Recipient`` with ``unmasked`` set (the owning bureau's own columns) and a ``row_filter``
(e.g. a district's rows); the writer takes the recipient and needs no other change.

Which mart columns are personal: a column's dbt ``meta`` (``personal: true`` or ``personal_when: {col: value}``)
when the marts declare it, else a mart column named like a contract column that is personal (``officer_names``,
``contact_phone``, ``holder_name`` when ``holder_type = individual``, ...). A conditional rule whose condition
column the mart lacks masks the whole column: when in doubt, mask.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pipelines.contracts import load_contracts


@dataclass(frozen=True)
class PersonalRule:
    column: str
    when: tuple[tuple[str, Any], ...] = ()  # all must hold for the row to be personal; () = always
    source: str = ""
    when_sql: str | None = None  # a SQL condition instead of ``when``; its "quoted" columns must exist

    @property
    def is_phone(self) -> bool:
        return "phone" in self.column or "电话" in self.column


@dataclass(frozen=True)
class Recipient:
    name: str = "all"
    unmasked: frozenset[str] = frozenset()      # "mart.column" a recipient may see unmasked (owning bureau)
    row_filter: dict[str, str] = field(default_factory=dict)  # mart column -> SQL value (not used by "all")


ALL = Recipient()


def contract_rules() -> dict[str, PersonalRule]:
    """Personal columns of the contracts, keyed by canonical column name."""
    rules: dict[str, PersonalRule] = {}
    for feed, contract in load_contracts().items():
        for col in contract.columns:
            if col.personal:
                rules[col.name] = PersonalRule(col.name, (), f"sources/{feed}.yml")
            elif col.personal_when:
                rules.setdefault(col.name, PersonalRule(col.name, tuple(sorted(col.personal_when.items())),
                                                        f"sources/{feed}.yml"))
    return rules


# Individually owned businesses (个体工商户) have credit codes starting "92" (GB 32100-2015: registration
# department 9 = market regulation, entity type 2 = individual business): their names are personal.
INDIVIDUAL_CODE_SQL = "\"credit_code\" LIKE '92%'"

# Marts known to carry personal fields under names no contract uses, until their YAML declares it in ``meta``.
KNOWN_MART_RULES: dict[str, list[PersonalRule]] = {
    "discharger_profile": [PersonalRule(
        "name", source="discharger_profile.name: holder or subject name (个体工商户 are individuals)",
        when_sql=f"coalesce(\"holder_is_individual\", false) OR {INDIVIDUAL_CODE_SQL}")],
}


def rules_for(mart: str, columns: list[str], meta: dict[str, dict[str, Any]] | None = None) -> list[PersonalRule]:
    """Personal-data rules for one mart given its columns and its dbt column ``meta``."""
    meta = meta or {}
    by_contract = contract_rules()
    known = {r.column: r for r in KNOWN_MART_RULES.get(mart, [])}
    rules = []
    for col in columns:
        m = meta.get(col) or {}
        if m.get("personal"):
            rules.append(PersonalRule(col, (), f"dbt meta {mart}.{col}"))
        elif col in known:  # knows more than a one-column condition (credit codes 92…)
            rules.append(known[col])
        elif m.get("personal_when"):
            rules.append(PersonalRule(col, tuple(sorted(m["personal_when"].items())), f"dbt meta {mart}.{col}"))
        elif col in by_contract:
            rules.append(by_contract[col])
    return rules


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def mask_expression(rule: PersonalRule, columns: list[str]) -> str:
    """SQL that masks ``rule.column``: phone numbers keep their first 3 and last 4 digits (the usual public
    notice form), names keep their first character."""
    c = f'"{rule.column}"'
    if rule.is_phone:
        masked = (f"CASE WHEN regexp_full_match({c}, '1[0-9]{{10}}') THEN left({c}, 3) || '****' || right({c}, 4) "
                  f"ELSE '***' END")
    else:
        masked = f"left({c}, 1) || repeat('*', greatest(length({c}) - 1, 2))"
    if rule.when_sql and all(c in columns for c in re.findall(r'"([^"]+)"', rule.when_sql)):
        return f"CASE WHEN {c} IS NULL THEN NULL WHEN {rule.when_sql} THEN {masked} ELSE {c} END"
    present = [(k, v) for k, v in rule.when if k in columns]
    if rule.when and len(present) == len(rule.when):
        cond = " AND ".join(f'"{k}" IS NOT DISTINCT FROM {_literal(v)}' for k, v in present)
        return f"CASE WHEN {c} IS NULL THEN NULL WHEN {cond} THEN {masked} ELSE {c} END"
    return f"CASE WHEN {c} IS NULL THEN NULL ELSE {masked} END"


def select_list(mart: str, columns: list[str], types: dict[str, str], recipient: Recipient,
                meta: dict[str, dict[str, Any]] | None = None, geometry_crs: str | None = None
                ) -> tuple[str, list[str]]:
    """The SELECT list for ``mart`` as ``recipient`` receives it, and the columns masked."""
    masks = {r.column: r for r in rules_for(mart, columns, meta)
             if f"{mart}.{r.column}" not in recipient.unmasked}
    parts, masked = [], []
    for col in columns:
        typ = types.get(col, "")
        if col in masks:
            parts.append(f'{mask_expression(masks[col], columns)} AS "{col}"')
            masked.append(col)
        elif geometry_crs and re.fullmatch(r"GEOMETRY", typ.upper()):
            # a bare GEOMETRY carries no CRS; GeoParquet readers would take it for lon/lat (OGC:CRS84)
            parts.append(f"\"{col}\"::GEOMETRY('{geometry_crs}') AS \"{col}\"")
        else:
            parts.append(f'"{col}"')
    return ", ".join(parts), masked


# Values that are personal in the raw feeds: an extract must not contain any of them (leak scan).
PERSONAL_VALUES_SQL = r"""
SELECT DISTINCT v FROM (
    SELECT unnest(regexp_split_to_array(officer_names, '[,，;；、/\s]+')) AS v FROM raw.enforcement_current
    UNION ALL SELECT contact_phone FROM raw.enforcement_current
    UNION ALL SELECT subject_name FROM raw.enforcement_current WHERE credit_code LIKE '92%'
    UNION ALL SELECT holder_name FROM raw.drainage_permits_current
              WHERE holder_type = 'individual' OR credit_code LIKE '92%'
    UNION ALL SELECT holder_name FROM raw.discharge_permits_current WHERE credit_code LIKE '92%'
) WHERE v IS NOT NULL AND length(v) >= 2
"""


def personal_columns(mart: str, columns: list[str], meta: dict[str, dict[str, Any]] | None = None) -> list[str]:
    """The personal columns of ``mart`` (the one derivation publication, sharing and the portal all read)."""
    return [r.column for r in rules_for(mart, columns, meta)]


def row_filter_sql(recipient: Recipient, columns: list[str]) -> str:
    """The WHERE condition of ``recipient.row_filter`` (``TRUE`` without one). A filter on a column the dataset lacks
    is an error, never silently dropped: the caller decides which datasets a filter applies to."""
    missing = [c for c in recipient.row_filter if c not in columns]
    if missing:
        raise KeyError(f"row filter on missing columns {missing}")
    if not recipient.row_filter:
        return "TRUE"
    return " AND ".join(f'"{col}" = {value}' for col, value in sorted(recipient.row_filter.items()))
