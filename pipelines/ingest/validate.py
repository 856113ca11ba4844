"""Contract-driven normalisation and rule checks, as one SQL statement over a batch of files.

Each file is first projected into a common shape (``Plan.projection`` → the batch table): the text of every
canonical column, what a bare number means under that file's header, geometry in the store CRS, whole-record
integrity rules. From the contract, every column then gets a typed expression (normalise.py macros, enum
maps, unit factors) and a list of conditions, each a rule code of sources/README.md. One
``CREATE TEMP TABLE … AS`` produces, per data record: the typed columns of ``raw.<feed>``, ``_row_hash`` (of
the typed content, for history) and ``_reasons`` — NULL for a clean record, else every reason (field, rule,
the value as sent, the words for the bureau). Exact copies (``duplicate_row``) and repeated keys
(``duplicate_key``) come from aggregates in the same statement, so the batch is split into loaded and
quarantined records in one pass.

Field roles (sources/README.md): only a failure of an identity or structural column (or of a row rule naming
one) is a reason to quarantine. A descriptive value that cannot be read keeps its record: the typed column is
NULL (or the enum's declared ``other`` code), the text as sent goes into ``_unmapped`` (field → text) and the
failure into ``_notes`` (field, kind, rule, value), which the loader counts per file (audit.file_findings).
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb

from pipelines.contracts import Column, Contract
from pipelines.ingest import normalise
from pipelines.ingest.normalise import sql_ident, sql_str
from pipelines.ingest.readers import Extract
from pipelines.ingest.rules import RULES, TYPE_WORDS
from pipelines.ingest.schema import (PIPE_SIZE_COLUMNS, data_columns, enum_is_integer, fields, output_columns,
                                     row_hash_sql)

CHECKED_TABLE = "_ingest_checked"
GEOMETRY_TYPES = {"POINT": ("POINT", "MULTIPOINT"), "LINESTRING": ("LINESTRING", "MULTILINESTRING"),
                  "POLYGON": ("POLYGON", "MULTIPOLYGON")}
# Plausible extent of Taizhou in EPSG:4549 (easting, northing), generous: a point outside it is misplaced.
STORE_EXTENT = (200_000, 2_500_000, 800_000, 3_800_000)


@dataclass
class Check:
    field: str | None
    rule: str
    condition: str          # SQL, TRUE when the record breaks the rule
    value: str              # SQL for the value as sent (message), or NULL
    zh: str
    en: str
    strict: bool = True     # a failure quarantines the record (identity / structural); else a finding

    @property
    def kind(self) -> str:
        """The finding kind of a descriptive failure (audit.file_findings.kind)."""
        if self.rule == "required":
            return "missing_value"
        if self.rule == "enum":
            return "unknown_label"
        return "invalid_value"


NOTE_TYPE = "STRUCT(field VARCHAR, kind VARCHAR, rule VARCHAR, value VARCHAR)"


def v(name: str) -> str:
    """Cleaned text of a column."""
    return sql_ident(f"v__{name}")


def t(name: str) -> str:
    """Typed value of a column (pipe sizes: diameter_mm etc. directly)."""
    return sql_ident(f"t__{name}")


def _field_words(column: Column) -> tuple[str, str]:
    return f"字段「{column.zh}」({column.name})", f"field {column.name} ({column.zh})"


def _lit(value) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    return sql_str(value)


def _range_lit(column: Column, value) -> str:
    if column.type == "date":
        return f"DATE {sql_str(value)}"
    return _lit(value)


class Plan:
    """The SQL of one contract over a batch of extracts (files)."""

    def __init__(self, contract: Contract):
        self.contract = contract
        self.columns = [c for c in fields(contract)]
        self.by_name = {c.name: c for c in self.columns}
        self.geo = any(c.type == "geometry" for c in self.columns)

    # ---- per column -------------------------------------------------------------------------------
    def raw_sql(self, column: Column) -> str:
        """The value as sent (projected as r__<name> by each file's projection)."""
        return sql_ident(f"r__{column.name}")

    def numeric(self, column: Column) -> bool:
        return column.type in ("decimal", "integer") and not column.derived

    def projection(self, extract: Extract, k: int) -> str:
        """One file's records in the batch's common shape: raw text per canonical column, what a bare
        number means under this file's header (``_bare__<name>``), geometry in the store CRS, whole-record
        integrity rules, and a hash of every cell as sent (exact duplicates)."""
        batch_file = f"{extract.file_column} + {k}" if extract.file_column else str(k)
        cols = [f"({batch_file})::INTEGER AS _batch_file", "_source_row", "_phys"]
        hash_parts = [sql_ident(c) for c in extract.raw_columns] + (["ST_AsWKB(_geom)"] if extract.geometry else [])
        cols.append(f"hash({', '.join(hash_parts) or '_source_row'}) AS _raw_hash")
        for column in self.columns:
            if column.type == "geometry" or column.derived:
                continue
            expr = extract.fields.get(column.name)
            cols.append(f"{'CAST(' + sql_ident(expr) + ' AS VARCHAR)' if expr else 'NULL::VARCHAR'} AS {self.raw_sql(column)}")
            if self.numeric(column):
                bare = normalise.bare_factor(column.unit, column.source_unit, extract.headers.get(column.name))
                cols.append(f"{bare!r}::DOUBLE AS {sql_ident('_bare__' + column.name)}")
        if self.geo:
            cols.append(f"CAST({extract.geometry or 'NULL'} AS GEOMETRY) AS _g")
        cols.append(f"{extract.integrity} AS _integrity" if extract.integrity else "[]::VARCHAR[] AS _integrity")
        where = f" WHERE {extract.where}" if extract.where else ""
        return f"SELECT {', '.join(cols)} FROM {sql_ident(extract.table)}{where}"

    def folded(self, column: Column) -> str:
        if column.type == "geometry" or column.derived:
            return f"NULL::VARCHAR AS {sql_ident('f__' + column.name)}"
        return f"ss_fold({self.raw_sql(column)}) AS {sql_ident('f__' + column.name)}"

    def cleaned(self, column: Column) -> str:
        return f"ss_empty_null({sql_ident('f__' + column.name)}) AS {v(column.name)}"

    def typed(self, column: Column) -> list[str]:
        x = v(column.name)
        kind = column.type
        if kind == "geometry":
            return [f"_g AS {t(column.name)}"]
        if column.derived:
            source = next((c for c in self.columns if c.type == "timestamp"), None)
            expr = f"CAST({t(source.name)} AS DATE)" if source and kind == "date" else "NULL"
            return [f"{expr} AS {t(column.name)}"]
        if kind == "text":
            expr = f"upper(replace({x}, ' ', ''))" if column.credit_code else x
            return [f"{expr} AS {t(column.name)}"]
        if kind in ("decimal", "integer"):
            nu = sql_ident("nu__" + column.name)
            bare = sql_ident("_bare__" + column.name)
            number = f"({nu}.n * {normalise.unit_factor_sql(f'{nu}.u', column.unit, bare)})"
            expr = f"CASE WHEN {number} = round({number}) THEN {number}::BIGINT END" if kind == "integer" else number
            if column.name == "length_m" and self.geo:
                # A census segment without a length takes the length of its geometry (store CRS, metres).
                expr = f"CASE WHEN {x} IS NULL THEN round(ST_Length(_g), 3) ELSE {expr} END"
            return [f"{expr} AS {t(column.name)}"]
        if kind == "date":
            return [f"ss_date({x}) AS {t(column.name)}"]
        if kind == "timestamp":
            return [f"ss_timestamp({x}) AS {t(column.name)}"]
        if kind == "year":
            return [f"ss_year({x}) AS {t(column.name)}"]
        if kind == "enum":
            return [f"{normalise.enum_sql(x, column.values, enum_is_integer(column))} AS {t(column.name)}"]
        if kind == "district":
            return [f"ss_district({x}) AS {t(column.name)}"]
        if kind == "list":
            return [f"ss_list({x}) AS {t(column.name)}"]
        if kind == "pipe_size":
            return []          # parsed once in `parsed`, split into mm columns in `pipe_outputs`
        raise ValueError(f"{self.contract.feed}.{column.name}: unknown type {kind!r}")

    def parsed(self, column: Column) -> list[str]:
        """Intermediate parses computed once per cell (number + unit, pipe size)."""
        if column.derived:
            return []
        if column.type in ("decimal", "integer"):
            return [f"ss_number_unit({v(column.name)}) AS {sql_ident('nu__' + column.name)}"]
        if column.type == "pipe_size":
            return [f"ss_pipe_size({v(column.name)}) AS {sql_ident('ps__' + column.name)}"]
        return []

    def pipe_outputs(self, column: Column) -> list[str]:
        ps = sql_ident("ps__" + column.name)
        return [f"round({ps}.d)::INTEGER AS {t('diameter_mm')}", f"round({ps}.w)::INTEGER AS {t('box_width_mm')}",
                f"round({ps}.h)::INTEGER AS {t('box_height_mm')}"]

    def checks(self, column: Column) -> list[Check]:
        out = self._checks(column)
        for check in out:
            check.strict = column.strict
        return out

    def _checks(self, column: Column) -> list[Check]:
        fz, fe = _field_words(column)
        raw = self.raw_sql(column)
        x, out = v(column.name), []
        kind = column.type
        if kind == "geometry":
            types = GEOMETRY_TYPES.get((column.geometry_type or "").upper())
            type_ok = f"ST_GeometryType(_g)::VARCHAR IN ({', '.join(sql_str(s) for s in types)})" if types else "TRUE"
            x0, y0, x1, y1 = STORE_EXTENT
            cond = (f"(_g IS NULL OR ST_IsEmpty(_g) OR NOT ST_IsValid(_g) OR NOT ({type_ok}) "
                    f"OR ST_XMin(_g) < {x0} OR ST_XMax(_g) > {x1} OR ST_YMin(_g) < {y0} OR ST_YMax(_g) > {y1})")
            want = column.geometry_type or "geometry"
            out.append(Check(column.name, "geometry", cond, "ST_GeometryType(_g)::VARCHAR",
                             f"{fz}：{RULES['geometry'][0]}（应为 {want}，坐标应在台州范围内）",
                             f"{fe}: {RULES['geometry'][1]} (expected a valid {want} within Taizhou)"))
            return out
        if column.derived:
            return out
        if column.required:
            out.append(Check(column.name, "required", f"{x} IS NULL", raw,
                             f"{fz}：{RULES['required'][0]}", f"{fe}: {RULES['required'][1]}"))
        if kind in TYPE_WORDS and kind != "list":
            typed = sql_ident("ps__" + column.name) if kind == "pipe_size" else t(column.name)
            if kind == "decimal" and column.name == "length_m" and self.geo:
                typed = f"CASE WHEN {x} IS NULL THEN 0 ELSE {t(column.name)} END"
            wz, we = TYPE_WORDS[kind]
            unit = f"（单位 {column.unit}）" if column.unit else ""
            censored = f" AND NOT {self.censored(column)}" if kind in ("decimal", "integer") else ""
            out.append(Check(column.name, "type", f"{x} IS NOT NULL AND {typed} IS NULL{censored}", raw,
                             f"{fz}：{wz}{unit}", f"{fe}: {we}"))
        if kind in ("enum", "district"):
            allowed = "GB/T 2260 区县名称或代码" if kind == "district" else "、".join(list(column.values)[:16])
            allowed_en = "a Taizhou district name or GB/T 2260 code" if kind == "district" else \
                ", ".join(list(column.values)[:16])
            out.append(Check(column.name, "enum", f"{x} IS NOT NULL AND {t(column.name)} IS NULL", raw,
                             f"{fz}：{RULES['enum'][0]}（可填：{allowed}）",
                             f"{fe}: {RULES['enum'][1]} ({allowed_en})"))
        if column.range:
            lo, hi = column.range
            unit = f" {column.unit}" if column.unit else ""
            targets = [t(n) for n in PIPE_SIZE_COLUMNS] if kind == "pipe_size" else [t(column.name)]
            parts = [f"({tt} < {_range_lit(column, lo)} OR {tt} > {_range_lit(column, hi)})" for tt in targets]
            cond = f"{x} IS NOT NULL AND ({' OR '.join(parts)})"
            out.append(Check(column.name, "range", cond, raw,
                             f"{fz}：{RULES['range'][0]}（应在 {lo} 至 {hi}{unit} 之间）",
                             f"{fe}: {RULES['range'][1]} (expected {lo} to {hi}{unit})"))
        if column.pattern:
            out.append(Check(column.name, "pattern",
                             f"{x} IS NOT NULL AND NOT regexp_full_match({t(column.name)}, {sql_str(column.pattern)})",
                             raw, f"{fz}：{RULES['pattern'][0]}（应符合 {column.pattern}）",
                             f"{fe}: {RULES['pattern'][1]} ({column.pattern})"))
        if column.credit_code:
            out.append(Check(column.name, "credit_code",
                             f"{x} IS NOT NULL AND NOT is_valid_credit_code({t(column.name)})", raw,
                             f"{fz}：{RULES['credit_code'][0]}", f"{fe}: {RULES['credit_code'][1]}"))
        return out

    # ---- across fields ----------------------------------------------------------------------------
    def row_checks(self) -> list[Check]:
        """Rules across fields; the reason names the rule's last field (the end date, the grade, the
        credit code), as sample_truth.json does."""
        out: list[Check] = []
        for rule in self.contract.row_rules:
            code, names = rule["rule"], list(rule.get("fields", []))
            cols = [self.by_name[n] for n in names]
            words = [_field_words(c) for c in cols]
            if code == "date_order":
                start, end = cols
                cond = f"{t(start.name)} IS NOT NULL AND {t(end.name)} IS NOT NULL AND {t(end.name)} < {t(start.name)}"
                out.append(Check(end.name, code, cond, self.raw_sql(end),
                                 f"{words[1][0]}：{RULES[code][0]}（早于「{start.zh}」）",
                                 f"{words[1][1]}: {RULES[code][1]} (before {start.name})"))
            elif code == "permit_credit_code":
                permit, credit = cols
                cond = (f"{t(permit.name)} IS NOT NULL AND {t(credit.name)} IS NOT NULL "
                        f"AND substr({t(permit.name)}, 1, 18) <> {t(credit.name)}")
                out.append(Check(credit.name, code, cond, self.raw_sql(credit),
                                 f"{words[1][0]}：{RULES[code][0]}（应与「{permit.zh}」前18位相同）",
                                 f"{words[1][1]}: {RULES[code][1]}"))
            elif code == "grade_for_code":
                defect, grade = cols
                grades = rule.get("grades") or {}
                whens = " ".join(f"WHEN {sql_str(k)} THEN {list(map(int, g))}" for k, g in grades.items())
                cond = (f"{t(defect.name)} IS NOT NULL AND {t(grade.name)} IS NOT NULL "
                        f"AND NOT coalesce(list_contains(CASE {t(defect.name)} {whens} END, {t(grade.name)}), true)")
                out.append(Check(grade.name, code, cond, self.raw_sql(grade),
                                 f"{words[1][0]}：{RULES[code][0]}（CJJ 181-2012）",
                                 f"{words[1][1]}: {RULES[code][1]}"))
            elif code == "required" and rule.get("any_of"):
                cond = " AND ".join(f"{v(n)} IS NULL" for n in names)
                zh_names = "、".join(f"「{c.zh}」" for c in cols)
                out.append(Check(names[-1], code, cond, "NULL",
                                 f"{words[-1][0]}：{RULES[code][0]}（{zh_names}至少填一项）",
                                 f"{words[-1][1]}: {RULES[code][1]} (at least one of {', '.join(names)})"))
            elif code == "required" and rule.get("if_filled"):
                given = list(rule["if_filled"])
                for c, (wz, we) in zip(cols, words):
                    cond = f"{v(c.name)} IS NULL AND " + " AND ".join(f"{v(g)} IS NOT NULL" for g in given)
                    out.append(Check(c.name, code, cond, "NULL",
                                     f"{wz}：{RULES[code][0]}（已填「{self.by_name[given[0]].zh}」时必填）",
                                     f"{we}: {RULES[code][1]} (required when {', '.join(given)} is filled)"))
            else:
                raise ValueError(f"{self.contract.feed}: row rule {rule!r} has no implementation")
        for check in out:
            check.strict = self.by_name[check.field].strict
        return out

    def censored(self, column: Column) -> str:
        """TRUE when a number cell holds a value below the detection limit (``<0.05``, ``未检出``). The regex
        runs only on the rare cells that did not read as a number."""
        return (f"(CASE WHEN {v(column.name)} IS NOT NULL AND {t(column.name)} IS NULL "
                f"THEN regexp_full_match({v(column.name)}, {sql_str(normalise.CENSORED_RE)}) ELSE false END)")

    def derivations(self) -> list[tuple[str, str, str, bool]]:
        """(field, finding kind, SQL condition, keep the text) of what the loader reports without failing a
        record: a value derived because the file left it empty; a censored lab value (stored NULL, the text
        kept in ``_unmapped``)."""
        out = []
        if self.geo and "length_m" in self.by_name:
            out.append(("length_m", "derived", f"{v('length_m')} IS NULL AND _g IS NOT NULL", False))
        for column in self.columns:
            # detection limits are a laboratory's: concentrations only (no cost on the other feeds' numbers)
            if (column.type == "decimal" and column.unit == "mg/L" and not column.derived
                    and self.contract.format in ("csv", "xlsx")):
                out.append((column.name, "censored", self.censored(column), True))
        return out

    def key_ok(self, alias: str = "") -> str:
        """TRUE when the record's key could be read (required parts present, every part typed)."""
        parts = []
        for name in self.contract.primary_key:
            column = self.by_name[name]
            tv, vv = alias + t(name), alias + v(name)
            parts.append(f"{tv} IS NOT NULL" if column.required else f"({vv} IS NULL OR {tv} IS NOT NULL)")
        return " AND ".join(parts) if parts else "FALSE"

    # ---- the statement ----------------------------------------------------------------------------
    def sql(self, source: str, table: str = CHECKED_TABLE, files: list[int] | None = None) -> str:
        """One statement over the batch table ``source`` (windows are per file, so a subset of its files
        gives the same answer for them)."""
        where = f"WHERE _batch_file IN ({', '.join(str(int(k)) for k in files)})" if files is not None else ""
        fold_cols = ["*"] + [self.folded(c) for c in self.columns]
        base_cols = ["*"] + [self.cleaned(c) for c in self.columns]

        parsed = [e for c in self.columns for e in self.parsed(c)]
        typed: list[str] = []
        pipes: list[str] = []
        for column in self.columns:
            if column.derived:
                continue
            typed.extend(self.typed(column))
            if column.type == "pipe_size":
                pipes.extend(self.pipe_outputs(column))
        derived = [e for c in self.columns if c.derived for e in self.typed(c)]

        checks = [ch for c in self.columns for ch in self.checks(c)] + self.row_checks()
        integrity_gate = "len(_integrity) = 0"

        def struct(ch: Check) -> str:
            return (f"{{'field': {sql_str(ch.field) if ch.field else 'NULL::VARCHAR'}, 'rule': {sql_str(ch.rule)}, "
                    f"'value': CAST({ch.value} AS VARCHAR), 'zh': {sql_str(ch.zh)}, 'en': {sql_str(ch.en)}}}")

        whole = {r: RULES[r] for r in ("duplicate_row", "duplicate_key", "hj212_frame", "hj212_length", "hj212_crc")}

        def whole_struct(rule: str) -> str:
            zh, en = whole[rule]
            return (f"{{'field': NULL::VARCHAR, 'rule': {sql_str(rule)}, 'value': NULL::VARCHAR, "
                    f"'zh': {sql_str(zh)}, 'en': {sql_str(en)}}}")

        strict = [ch for ch in checks if ch.strict]
        soft = [ch for ch in checks if not ch.strict]
        field_bad = " OR ".join(f"coalesce({ch.condition}, false)" for ch in strict) or "FALSE"
        reason_items = [f"CASE WHEN {integrity_gate} AND coalesce({ch.condition}, false) THEN {struct(ch)} END"
                        for ch in strict]
        reason_items += [f"CASE WHEN list_contains(_integrity, '{r}') THEN {whole_struct(r)} END"
                         for r in ("hj212_frame", "hj212_length", "hj212_crc")]
        reason_items += [f"CASE WHEN _dup_row THEN {whole_struct('duplicate_row')} END",
                         f"CASE WHEN _dup_key THEN {whole_struct('duplicate_key')} END"]

        # Descriptive failures: each evaluated once (``_s<i>``), then read by the notes, the kept text and the
        # typed output (NULL, or the enum's `other` code, where the value could not be used).
        soft_flags = [f"({integrity_gate} AND coalesce({ch.condition}, false)) AS _s{i}" for i, ch in enumerate(soft)]
        note_items = [f"CASE WHEN _s{i} THEN {{'field': {sql_str(ch.field)}, 'kind': {sql_str(ch.kind)}, "
                      f"'rule': {sql_str(ch.rule)}, "
                      f"'value': nullif(trim(ss_fold(CAST({ch.value} AS VARCHAR))), '')}}::{NOTE_TYPE} END"
                      for i, ch in enumerate(soft)]
        # Values the loader derived where the file left them empty (reported, not failures).
        derived_notes = self.derivations()
        soft_flags += [f"({integrity_gate} AND coalesce({cond}, false)) AS _d{i}"
                       for i, (_, _, cond, _) in enumerate(derived_notes)]
        note_items += [f"CASE WHEN _d{i} THEN {{'field': {sql_str(name)}, 'kind': {sql_str(kind)}, 'rule': NULL, "
                       f"'value': {v(name) if keep else 'NULL'}}}::{NOTE_TYPE} END"
                       for i, (name, kind, _, keep) in enumerate(derived_notes)]
        unusable: dict[str, list[str]] = {}
        for i, ch in enumerate(soft):
            if ch.rule != "required":
                unusable.setdefault(ch.field, []).append(f"_s{i}")
        soft_any = " OR ".join([f"_s{i}" for i in range(len(soft))]
                               + [f"_d{i}" for i in range(len(derived_notes))]) or "FALSE"
        # the text as sent of every value not stored: unreadable descriptive values, censored measurements
        kept_text = {name: list(flags) for name, flags in unusable.items()}
        for i, (name, _, _, keep) in enumerate(derived_notes):
            if keep:
                kept_text.setdefault(name, []).append(f"_d{i}")
        kept_any = " OR ".join(f for flags in kept_text.values() for f in flags) or "FALSE"
        kept_items = [f"CASE WHEN {' OR '.join(flags)} THEN {{'key': {sql_str(name)}, "
                      f"'value': CAST({self.raw_sql(self.by_name[name])} AS VARCHAR)}} END"
                      for name, flags in kept_text.items()]

        outputs = []
        owner = {n: c.name for c in self.columns for n, _ in output_columns(c, self.contract.store_crs)}
        for name, sqltype in data_columns(self.contract):
            column = self.by_name[owner[name]]
            expr = t(name)
            if column.name in unusable:
                instead = _lit(column.other) if column.other is not None else "NULL"
                expr = f"CASE WHEN {' OR '.join(unusable[column.name])} THEN {instead} ELSE {expr} END"
            outputs.append(f"CAST({expr} AS {sqltype}) AS {sql_ident(name)}")
        unmapped = (f"CASE WHEN {kept_any} THEN map_from_entries(list_filter([{', '.join(kept_items)}], "
                    f"x -> x IS NOT NULL)) END" if kept_items else "NULL::MAP(VARCHAR, VARCHAR)")

        # Duplicates: aggregates over the batch (only the groups of two or more are kept) joined back,
        # rather than windows, which are slow with one partition per record. The keys are typed by a
        # small pipeline of their own so the wide record pipeline runs once.
        key_columns = [self.by_name[k] for k in self.contract.primary_key]
        key_typed = ", ".join(f"{t(k)} AS {sql_ident('dk__' + k)}" for k in self.contract.primary_key)
        key_join = " AND ".join(f"d.{sql_ident('dk__' + k)} IS NOT DISTINCT FROM r.{t(k)}" for k in self.contract.primary_key)
        key_pipeline = f"""
            key_folded AS (
                SELECT _batch_file, _source_row, _integrity, {', '.join(self.folded(c) for c in key_columns)}
                       {''.join(', ' + sql_ident('_bare__' + c.name) for c in key_columns if self.numeric(c))}
                FROM {sql_ident(source)} {where}
            ), key_base AS (
                SELECT *, {', '.join(self.cleaned(c) for c in key_columns)} FROM key_folded
            ), key_parsed AS (
                SELECT *, {', '.join([e for c in key_columns for e in self.parsed(c)] or ['NULL AS _none0'])}
                FROM key_base
            ), key_typed AS (
                SELECT *, {', '.join([e for c in key_columns for e in self.typed(c)] or ['NULL AS _none'])}
                FROM key_parsed
            ), key_usable AS (
                SELECT _batch_file, _source_row, {key_typed}, {integrity_gate} AND {self.key_ok()} AS _usable
                FROM key_typed
            ), dup_keys AS (
                -- The usable test is an aggregate filter, not a WHERE: a WHERE is pushed down through the
                -- projections above and re-expands the folding macros once per marker they test (measured:
                -- 8 of 12 CPU seconds of a 500k-row CSV).
                SELECT _batch_file, {', '.join(sql_ident('dk__' + k) for k in self.contract.primary_key)},
                       min(_source_row) FILTER (WHERE _usable) AS _first_with_key
                FROM key_usable GROUP BY ALL HAVING count(*) FILTER (WHERE _usable) > 1
            ),""" if key_columns else ""
        # Equality only in the join (a hash join); whether the record's own key is usable is a filter after.
        dup_key_join = (f"LEFT JOIN dup_keys d ON d._batch_file = r._batch_file AND {key_join}"
                        if key_columns else "")
        first_with_key = (f"CASE WHEN len(r._integrity) = 0 AND {self.key_ok('r.')} THEN d._first_with_key END"
                          if key_columns else "NULL::BIGINT")

        return f"""
        CREATE OR REPLACE TEMP TABLE {table} AS
        WITH {key_pipeline}
        dup_rows AS (
            SELECT _batch_file, _raw_hash, min(_source_row) AS _first_copy FROM {sql_ident(source)} {where}
            GROUP BY ALL HAVING count(*) > 1
        ), folded AS (
            SELECT {', '.join(fold_cols)} FROM {sql_ident(source)} {where}
        ), base AS (
            SELECT {', '.join(base_cols)} FROM folded
        ), parsed AS (
            SELECT *, {', '.join(parsed) or 'NULL AS _none0'} FROM base
        ), typed AS (
            SELECT *, {', '.join(typed) or 'NULL AS _none'} FROM parsed
        ), typed2 AS (
            SELECT *, {', '.join(pipes + derived) or 'NULL AS _none2'} FROM typed
        ), flagged AS (
            SELECT r.*,
                   NOT ({integrity_gate}) OR ({field_bad}) AS _field_bad,
                   coalesce(r._source_row > c._first_copy, false) AS _dup_row,
                   coalesce(r._source_row > {first_with_key}, false) AS _dup_key_any
            FROM typed2 r
            LEFT JOIN dup_rows c ON c._batch_file = r._batch_file AND c._raw_hash = r._raw_hash
            {dup_key_join}
        ), final AS (
            SELECT *, _dup_key_any AND NOT _dup_row AS _dup_key, {', '.join(soft_flags) or 'NULL AS _s_none'}
            FROM flagged
        ), outs AS (
            SELECT _batch_file, _source_row, {', '.join(outputs)},
                   CASE WHEN _field_bad OR _dup_row OR _dup_key
                        THEN list_filter([{', '.join(reason_items)}], x -> x IS NOT NULL) END AS _reasons,
                   CASE WHEN {soft_any} THEN list_filter([{', '.join(note_items) or 'NULL'}], x -> x IS NOT NULL)
                        END::{NOTE_TYPE}[] AS _notes,
                   CAST({unmapped} AS MAP(VARCHAR, VARCHAR)) AS _unmapped
            FROM final
        )
        SELECT *, {row_hash_sql(self.contract)} AS _row_hash FROM outs
        """


BATCH_TABLE = "_ingest_batch"


def create_batch(con: duckdb.DuckDBPyConnection, contract: Contract) -> None:
    """The table a batch of files is gathered in (one projection per file), in the shape ``Plan.sql``
    reads: the check statement then binds against one plain table, whatever the number of files."""
    plan = Plan(contract)
    con.execute(f"DROP VIEW IF EXISTS temp.main.{BATCH_TABLE}")
    cols = ["_batch_file INTEGER", "_source_row BIGINT", "_phys BIGINT", "_raw_hash UBIGINT"]
    for column in plan.columns:
        if column.type == "geometry" or column.derived:
            continue
        cols.append(f"{plan.raw_sql(column)} VARCHAR")
        if plan.numeric(column):
            cols.append(f"{sql_ident('_bare__' + column.name)} DOUBLE")
    if plan.geo:
        cols.append("_g GEOMETRY")
    cols.append("_integrity VARCHAR[]")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {BATCH_TABLE} ({', '.join(cols)})")


def add_to_batch(con: duckdb.DuckDBPyConnection, contract: Contract, extract: Extract, k: int) -> None:
    con.execute(f"INSERT INTO {BATCH_TABLE} BY NAME {Plan(contract).projection(extract, k)}")


def batch_of_one(con: duckdb.DuckDBPyConnection, contract: Contract, extract: Extract, k: int) -> None:
    """A batch of one large file: the batch is a view of the file's projection, not a copy of it. The check
    statement reads it three times (keys, exact copies, records), each a plain scan of the reader's table, which
    costs less than writing every record once more (issue 13: a 2 M-row CSV was copied whole here)."""
    con.execute(f"DROP TABLE IF EXISTS temp.main.{BATCH_TABLE}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW {BATCH_TABLE} AS {Plan(contract).projection(extract, k)}")


def build_checked(con: duckdb.DuckDBPyConnection, contract: Contract, files: list[int] | None = None,
                  table: str = CHECKED_TABLE) -> None:
    """Check every record of the batch (or of the given batch files) in one statement."""
    con.execute(Plan(contract).sql(BATCH_TABLE, table, files))
