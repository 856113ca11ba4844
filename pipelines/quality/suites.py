"""Expectation suites as checked-in JSON (``expectations/raw/<feed>.json``, ``expectations/marts/<mart>.json``).

A suite file is great-expectations' own suite format (``name``, ``expectations``: ``type`` / ``kwargs`` /
``meta``, ``meta``) so GE loads it unchanged, plus what the runner needs in the suite's ``meta``:

- ``asset_key``, ``table``: the Dagster asset and the warehouse relation the suite validates;
- ``batch_by``: the column that cuts the relation into batches (``_file_id`` for files, ``data_date`` /
  ``sampled_on`` for days, absent for a mart validated whole); uniqueness expectations hold within one batch,
  and within each value of the ``unique_within`` columns (raw: ``_file_id``, as raw keeps every version);
- ``columns``: column → type family (see ``TYPE_FAMILIES``); checked against DuckDB's catalogue, and with
  ``closed: true`` a column the suite does not know is a schema break;
- ``derived``: extra columns computed in SQL for the batch (``name: SQL expression``), e.g. a ratio;
- ``row_count_change``: bounds on the change of the relation's row count between runs.

Every expectation carries ``meta.severity`` (``ERROR`` blocks publication, ``WARN`` is reported) and
``meta.description_zh`` (what bureau staff read).
"""
from __future__ import annotations

import hashlib
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
    def batch_by(self) -> str | None:
        return self.meta.get("batch_by")

    @property
    def columns(self) -> dict[str, str]:
        return dict(self.meta.get("columns", {}))

    @property
    def closed(self) -> bool:
        return bool(self.meta.get("closed", False))

    @property
    def derived(self) -> dict[str, str]:
        return dict(self.meta.get("derived", {}))

    @property
    def title_zh(self) -> str:
        return self.meta.get("title_zh", self.name)

    @property
    def bureau(self) -> str:
        return self.meta.get("owner", "")

    @property
    def fingerprint(self) -> str:
        """Changes whenever the suite's content changes, so edited suites revalidate every batch."""
        blob = json.dumps({"e": self.expectations, "m": self.meta}, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "meta": self.meta, "expectations": list(self.expectations)}


def validate_suite_shape(suite: Suite) -> list[str]:
    """Problems with a suite file (empty when it is well-formed)."""
    problems = []
    for key in ("asset_key", "table", "title_zh"):
        if key not in suite.meta:
            problems.append(f"{suite.name}: meta.{key} missing")
    for family in suite.columns.values():
        if family not in TYPE_FAMILIES:
            problems.append(f"{suite.name}: unknown type family {family!r}")
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


def load_suites(kind: str, directory: Path = EXPECTATIONS_DIR) -> dict[str, Suite]:
    """``kind`` is ``raw`` or ``marts``; keyed by feed or mart name (the file's stem)."""
    return {p.stem: load_suite(p) for p in sorted((directory / kind).glob("*.json"))}


def dumps_readable(suite: Suite) -> str:
    """JSON with one expectation per line, so a reviewer reads a suite top to bottom and a diff shows
    exactly the expectation that changed."""
    lines = ["{", f'  "name": {json.dumps(suite.name, ensure_ascii=False)},']
    lines.append(f'  "meta": {_format(suite.meta, 1)},')
    lines.append('  "expectations": [')
    body = [
        "    " + json.dumps(exp, ensure_ascii=False, separators=(", ", ": "))
        for exp in suite.expectations
    ]
    lines.append(",\n".join(body))
    lines.append("  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _format(obj: Any, level: int) -> str:
    """Dicts one key per line; lists and dicts of scalars inline."""
    pad = "  " * (level + 1)
    if isinstance(obj, dict) and any(isinstance(v, (dict, list)) for v in obj.values()) or (
            isinstance(obj, dict) and len(obj) > 4):
        items = [f"{pad}{json.dumps(k, ensure_ascii=False)}: {_format(v, level + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * level + "}"
    return json.dumps(obj, ensure_ascii=False, separators=(", ", ": "))


def write_suite(suite: Suite, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps_readable(suite), encoding="utf-8")


def type_matches(family: str, duck_type: str) -> bool:
    return re.fullmatch(TYPE_FAMILIES[family], duck_type.upper()) is not None


def expectation_label(exp: dict[str, Any]) -> str:
    """A short human label: ``expect_column_values_to_be_between(diameter_mm)``."""
    kw = exp.get("kwargs", {})
    target = kw.get("column") or ",".join(kw.get("column_list", []) or []) or (
        f"{kw['column_A']},{kw['column_B']}" if "column_A" in kw else "")
    return f"{exp['type']}({target})" if target else exp["type"]
