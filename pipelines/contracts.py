"""Load the feed contracts of ``sources/*.yml`` (see sources/README.md for the keys)."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from pipelines.home import SOURCES_DIR

FEEDS = (
    "census_pipes", "census_manholes", "inspections", "misconnections", "drainage_permits",
    "discharge_permits", "plants", "plant_online", "plant_lab", "enforcement", "upgrade_projects",
    "task_progress",
)

# One rule for "a feed is overdue for its cadence": no delivery for more than this many days. Read by the dbt
# sources' freshness (kept equal by tests/unit/test_dbt_project.py), by the alerts mart (passed to dbt as the
# var ``feed_delivery_rules`` by the dbt asset) and by the Dagster freshness checks; never copied elsewhere.
# A cadence period plus a grace period for the bureau's working days (a monthly export due by mid-month).
CADENCE_OVERDUE_AFTER_DAYS = {"daily": 2, "weekly": 10, "monthly": 45, "quarterly": 120, "yearly": 400}


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
    # identity (the key) / structural / descriptive (sources/README.md, "Field roles"; issue 8)
    role: str = "descriptive"

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
        contract = load_contract(path)
        contracts[contract.feed] = contract
    return contracts


def overdue_after_days(cadence: str) -> int | None:
    """Days without a delivery after which a feed of this cadence is overdue; None for feeds without a cadence
    (``on_demand``: acknowledgements, corrections)."""
    return CADENCE_OVERDUE_AFTER_DAYS.get(cadence)


def delivery_rules(contracts: dict[str, Contract] | None = None) -> list[dict[str, Any]]:
    """Per feed with a cadence: ``{feed, title_zh, owner, cadence, overdue_after_days}`` (the var
    ``feed_delivery_rules`` of the dbt project)."""
    contracts = load_contracts() if contracts is None else contracts
    return [{"feed": c.feed, "title_zh": c.title_zh, "owner": c.owner, "cadence": c.cadence,
             "overdue_after_days": overdue_after_days(c.cadence)}
            for c in contracts.values() if overdue_after_days(c.cadence) is not None]
