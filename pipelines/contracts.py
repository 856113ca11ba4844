"""Load the feed contracts of ``sources/*.yml`` (see sources/README.md for the keys).

The contracts are the one statement of the feeds: the feed list (``FEEDS``), the ingestion assets, the loader's
rules and the dbt sources (``python -m pipelines.transform.sources``) are derived from them. Files whose name
starts with ``_`` (``_defaults.yml``) are not feeds.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from pipelines.home import SOURCES_DIR

# A delivery is overdue when nothing arrived for this many days: the cadence plus a margin for the bureau's
# own reporting delay (a monthly report is due some days into the next month).
OVERDUE_AFTER_DAYS = {"daily": 2, "weekly": 10, "monthly": 45, "quarterly": 120, "yearly": 400}


@dataclass(frozen=True)
class Column:
    name: str
    zh: str
    type: str
    synonyms: tuple[str, ...] = ()
    required: bool = False
    unit: str | None = None
    source_unit: str | None = None
    range: tuple[Any, Any] | None = None
    pattern: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    credit_code: bool = False
    personal: bool = False
    personal_when: dict[str, Any] | None = None
    geometry_type: str | None = None
    derived: bool = False
    note: str | None = None

    @property
    def header(self) -> str:
        """The canonical Chinese header (first synonym, else the Chinese name)."""
        return self.synonyms[0] if self.synonyms else self.zh


@dataclass(frozen=True)
class Contract:
    feed: str
    title_zh: str
    description: str
    owner: str
    format: str
    file_patterns: tuple[str, ...]
    cadence: str
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...]
    encodings: tuple[str, ...] = ()
    crs: tuple[str, ...] = ()
    store_crs: str | None = None
    partition_by: str | None = None
    row_rules: tuple[dict[str, Any], ...] = ()
    factors: dict[str, dict[str, Any]] = field(default_factory=dict)
    flags: dict[str, str] = field(default_factory=dict)
    path: Path | None = None

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.feed}: no column {name!r}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def overdue_after_days(self) -> int:
        return OVERDUE_AFTER_DAYS[self.cadence]


def _column(raw: dict[str, Any]) -> Column:
    raw = dict(raw)
    if "synonyms" in raw:
        raw["synonyms"] = tuple(str(s) for s in raw["synonyms"])
    if "range" in raw:
        raw["range"] = tuple(raw["range"])
    if "values" in raw:
        raw["values"] = {str(k): v for k, v in raw["values"].items()}
    return Column(**raw)


def load_contract(path: Path) -> Contract:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Contract(
        feed=raw["feed"], title_zh=raw["title_zh"], description=raw["description"],
        owner=raw["owner"], format=raw["format"], file_patterns=tuple(raw["file_patterns"]),
        cadence=raw["cadence"], primary_key=tuple(raw["primary_key"]),
        columns=tuple(_column(c) for c in raw["columns"]),
        encodings=tuple(raw.get("encodings", ())), crs=tuple(raw.get("crs", ())),
        store_crs=raw.get("store_crs"), partition_by=raw.get("partition_by"),
        row_rules=tuple(raw.get("row_rules", ())), factors=raw.get("factors", {}),
        flags=raw.get("flags", {}), path=path,
    )


@lru_cache(maxsize=None)
def load_contracts(sources_dir: Path = SOURCES_DIR) -> dict[str, Contract]:
    contracts = {}
    for path in sorted(sources_dir.glob("*.yml")):
        if path.name.startswith("_"):
            continue
        contract = load_contract(path)
        contracts[contract.feed] = contract
    return contracts


def feeds(sources_dir: Path = SOURCES_DIR) -> tuple[str, ...]:
    """The feed names, one per contract."""
    return tuple(load_contracts(sources_dir))


def __getattr__(name: str) -> Any:
    # ``FEEDS`` is read from sources/ when first asked for, so importing this module reads no file
    if name == "FEEDS":
        return feeds()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
