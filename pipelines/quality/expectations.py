"""Validate a mart against its suite with great-expectations.

A mart is validated whole, every time its check runs: marts are a city's worth of rows, and which rows changed
is Dagster's business (partitions, the event log), not this module's. The relation is read through a
read-only DuckDB connection into pandas: geometry reaches GE as its type name (``INVALID`` when not valid;
WKB bytes mean nothing to it), and the suite's ``derived`` columns are computed in the same SELECT.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import duckdb

from pipelines import duck
from pipelines.identifiers import CREDIT_CODE_SQL_MACRO
from pipelines.quality.suites import Suite, expectation_label, type_matches

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
SAMPLE_LIMIT = 5


@dataclass
class Finding:
    """One expectation and how the mart fared against it."""

    label: str
    severity: str
    description_zh: str
    success: bool
    unexpected_count: int | None = None
    samples: list[Any] = field(default_factory=list)
    exception: str | None = None

    def summary(self) -> str:
        count = "" if self.unexpected_count is None else f"，{self.unexpected_count} 行不符 ({self.unexpected_count} failing rows)"
        samples = f"；示例 samples: {self.samples[:SAMPLE_LIMIT]}" if self.samples else ""
        why = f"；异常 error: {self.exception}" if self.exception else ""
        return f"[{self.severity}] {self.label} — {self.description_zh}{count}{samples}{why}"


def describe(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str] | None:
    """Column → DuckDB type of ``schema.table`` (None when it does not exist)."""
    schema, name = table.split(".", 1)
    rows = con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
        "AND database_name = current_database() ORDER BY column_index", [schema, name]).fetchall()
    return dict(rows) or None


def schema_finding(suite: Suite, types: dict[str, str]) -> Finding:
    missing = [f"缺少列 missing {c}" for c in suite.columns if c not in types]
    mistyped = [f"类型不符 type {c}: {types[c]} ≠ {fam}" for c, fam in suite.columns.items()
                if c in types and not type_matches(fam, types[c])]
    problems = missing + mistyped
    return Finding(label="schema(columns, types)", severity="ERROR",
                   description_zh="表结构（列名与类型）须与期望套件一致", success=not problems,
                   unexpected_count=len(problems), samples=problems[:SAMPLE_LIMIT * 4])


def _select_sql(con: duckdb.DuckDBPyConnection, suite: Suite, types: dict[str, str]) -> tuple[str, list[Finding]]:
    """The SELECT list: the relation's columns (geometry as its type name) and the suite's derived columns. A
    derived column that cannot be computed (an input column is missing) is an ERROR finding of its own."""
    if any(t.upper().startswith("GEOMETRY") for t in types.values()):
        duck.load(con, "spatial")
    con.execute(CREDIT_CODE_SQL_MACRO)  # temporary macros work on read-only connections too
    parts = []
    for col, typ in types.items():
        if typ.upper().startswith("GEOMETRY"):
            parts.append(f"CASE WHEN \"{col}\" IS NULL THEN NULL WHEN ST_IsEmpty(\"{col}\") "
                         f"OR NOT ST_IsValid(\"{col}\") THEN 'INVALID' "
                         f"ELSE upper(ST_GeometryType(\"{col}\")::VARCHAR) END AS \"{col}\"")
        else:
            parts.append(f'"{col}"')
    broken = []
    for name, expr in suite.derived.items():
        try:
            con.execute(f"SELECT {expr} FROM {suite.table} LIMIT 0")
            parts.append(f'({expr}) AS "{name}"')
        except duckdb.Error as exc:
            broken.append(Finding(label=f"derived({name})", severity="ERROR", success=False,
                                  description_zh="派生检查列无法计算（所需列缺失）", exception=str(exc).splitlines()[0]))
    return ", ".join(parts), broken


def _adapt(exp: dict[str, Any], types: dict[str, str]) -> dict[str, Any]:
    """Our severities and notes as GE's own; ISO date bounds as timestamps (GE compares pandas Timestamps)."""
    import pandas as pd

    meta = {**exp.get("meta", {}), "label": expectation_label(exp)}
    kwargs = dict(exp.get("kwargs", {}))
    if re.match(r"(DATE|TIMESTAMP)", types.get(kwargs.get("column", ""), "").upper()):
        for bound in ("min_value", "max_value"):
            if isinstance(kwargs.get(bound), str):
                kwargs[bound] = pd.Timestamp(kwargs[bound])
    return {"type": exp["type"], "kwargs": kwargs, "meta": meta,
            "severity": "critical" if meta.get("severity") == "ERROR" else "warning",
            "notes": f"[{meta.get('severity')}] {meta.get('description_zh', '')}"}


class _Gx:
    """One ephemeral GE context per process (creating it costs about a second), without the default data docs
    site, whose temporary folder would be left behind in /tmp."""

    def __init__(self) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.gx = gx
        self.context = gx.get_context(mode="ephemeral")
        for name, site in list((self.context.get_config().data_docs_sites or {}).items()):
            base = (site.get("store_backend") or {}).get("base_directory")
            self.context.delete_data_docs_site(name)
            if base and base.startswith(tempfile.gettempdir()):
                shutil.rmtree(base, ignore_errors=True)
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        asset = self.context.data_sources.add_pandas("warehouse").add_dataframe_asset("mart")
        self.batch_definition = asset.add_batch_definition_whole_dataframe("whole")
        self._definitions: dict[str, Any] = {}

    def validation_definition(self, suite: Suite, types: dict[str, str]):
        from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

        expectations = [_adapt(e, types) for e in suite.expectations]
        name = suite.name + ":" + hashlib.sha256(
            json.dumps(expectations, sort_keys=True, default=str).encode()).hexdigest()[:12]
        if name not in self._definitions:  # an edited suite (dagster dev reloads) gets a definition of its own
            gx_suite = self.context.suites.add(self.gx.ExpectationSuite(
                name=name, expectations=[ExpectationConfiguration(**e).to_domain_obj() for e in expectations]))
            self._definitions[name] = self.context.validation_definitions.add(
                self.gx.ValidationDefinition(name=name, data=self.batch_definition, suite=gx_suite))
        return self._definitions[name]


@lru_cache(maxsize=1)
def gx_runtime() -> _Gx:
    return _Gx()


def _finding(result: Any) -> Finding:
    cfg = result.expectation_config
    meta, res = cfg.meta or {}, result.result or {}
    info = result.exception_info or {}
    exc = info.get("exception_message") if info.get("raised_exception") else next(
        (v.get("exception_message") for v in info.values() if isinstance(v, dict) and v.get("raised_exception")),
        None)
    index, values = res.get("partial_unexpected_index_list") or [], res.get("partial_unexpected_list") or []
    if index:
        samples = [dict(i) for i in index[:SAMPLE_LIMIT]]
    elif values:
        samples = list(values[:SAMPLE_LIMIT])
    elif not result.success and "observed_value" in res:
        samples = [{"observed_value": res["observed_value"]}]
    else:
        samples = []
    return Finding(label=meta.get("label") or cfg.type, severity=meta.get("severity", "ERROR"),
                   description_zh=meta.get("description_zh", ""), success=bool(result.success),
                   unexpected_count=res.get("unexpected_count"), samples=samples, exception=exc)


def validate(con: duckdb.DuckDBPyConnection, suite: Suite) -> list[Finding]:
    """Every finding of ``suite`` on its relation: the schema, then one per expectation."""
    types = describe(con, suite.table)
    if types is None:
        return [Finding(label="table_exists", severity="ERROR", success=False,
                        description_zh=f"表 {suite.table} 不存在 (relation missing)")]
    select, broken = _select_sql(con, suite, types)
    present = set(types) | set(suite.derived)
    index_cols = [c for c in suite.meta.get("index_columns", []) if c in present]
    frame = con.execute(f"SELECT {select} FROM {suite.table}").df()
    result = gx_runtime().validation_definition(suite, types).run(
        batch_parameters={"dataframe": frame},
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_LIMIT,
                       "unexpected_index_column_names": index_cols})
    return [schema_finding(suite, types), *(_finding(r) for r in result.results), *broken]
