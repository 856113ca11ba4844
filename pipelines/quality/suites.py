"""The published datasets' promises: one great-expectations suite per mart, ``expectations/marts/<mart>.json``.

A suite file is great-expectations' own suite format (``name``, ``expectations``: ``type`` / ``kwargs`` /
``meta``, ``meta``), one expectation per line, so GE loads it unchanged and a diff names the expectation that
changed. The suite's ``meta`` says what the check needs:

- ``asset_key``, ``table``, ``title_zh``: the Dagster asset, the warehouse relation, the name staff read;
- ``columns``: column → type family (``TYPE_FAMILIES``), checked against DuckDB's catalogue (a mart may carry
  more columns than its suite names);
- ``derived``: extra columns computed in SQL before validation (``name: SQL expression``), for promises across
  the columns of a row (a grade consistent with its index);
- ``index_columns``: the columns that identify a failing row in the samples;
- ``row_count_change``: bounds on the change of the row count since the previous evaluation.

Every expectation carries ``meta.severity`` (``ERROR`` blocks publication, ``WARN`` is reported) and
``meta.description_zh``.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.home import EXPECTATIONS_DIR

SEVERITIES = ("ERROR", "WARN")

# DuckDB type names per family; a column's declared family must match the catalogue's type.
_INT = r"(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT)"
TYPE_FAMILIES: dict[str, str] = {
    "text": r"VARCHAR",
    "integer": _INT,
    "numeric": rf"({_INT}|FLOAT|DOUBLE|DECIMAL\(\d+,\s*\d+\))",
    "date": r"DATE",
    "timestamp": r"TIMESTAMP.*",
    "boolean": r"BOOLEAN",
    "text_list": r"VARCHAR\[\]",
    "geometry": r"GEOMETRY.*",
    "any": r".*",
}


@dataclass(frozen=True)
class Suite:
    name: str
    expectations: tuple[dict[str, Any], ...]
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def asset_key(self) -> tuple[str, ...]:
        return tuple(self.meta["asset_key"])

    @property
    def table(self) -> str:
        return self.meta["table"]

    @property
    def title_zh(self) -> str:
        return self.meta.get("title_zh", self.name)

    @property
    def columns(self) -> dict[str, str]:
        return dict(self.meta.get("columns", {}))

    @property
    def derived(self) -> dict[str, str]:
        return dict(self.meta.get("derived", {}))


def validate_suite_shape(suite: Suite) -> list[str]:
    """Problems with a suite file (empty when it is well-formed)."""
    problems = [f"{suite.name}: meta.{key} missing" for key in ("asset_key", "table", "title_zh")
                if key not in suite.meta]
    problems += [f"{suite.name}: unknown type family {family!r}" for family in suite.columns.values()
                 if family not in TYPE_FAMILIES]
    for i, exp in enumerate(suite.expectations):
        meta = exp.get("meta", {})
        if meta.get("severity") not in SEVERITIES:
            problems.append(f"{suite.name}[{i}] {exp.get('type')}: meta.severity must be ERROR or WARN")
        if not meta.get("description_zh"):
            problems.append(f"{suite.name}[{i}] {exp.get('type')}: meta.description_zh missing")
    return problems


def load_suite(path: Path) -> Suite:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return Suite(name=raw["name"], expectations=tuple(raw["expectations"]), meta=raw.get("meta", {}), path=path)


def load_suites(directory: Path = EXPECTATIONS_DIR / "marts") -> dict[str, Suite]:
    """Keyed by mart name (the file's stem)."""
    return {p.stem: load_suite(p) for p in sorted(directory.glob("*.json"))}


def type_matches(family: str, duck_type: str) -> bool:
    return re.fullmatch(TYPE_FAMILIES[family], duck_type.upper()) is not None


def expectation_label(exp: dict[str, Any]) -> str:
    """A short label: ``expect_column_values_to_be_between(diameter_mm)``."""
    kw = exp.get("kwargs", {})
    target = kw.get("column") or ",".join(kw.get("column_list", []) or []) or (
        f"{kw['column_A']},{kw['column_B']}" if "column_A" in kw else "")
    return f"{exp['type']}({target})" if target else exp["type"]
