"""Load the feed contracts of ``sources/*.yml`` (see sources/README.md for the keys).

The contracts are the one statement of the feeds: the feed list (``FEEDS``), the ingestion assets, the loader's
rules and the dbt sources (``python -m pipelines.transform.sources``) are derived from them. Files whose name
starts with ``_`` are not feeds: ``_defaults.yml`` holds the defaults every contract inherits (a contract
overrides a key of a mapping such as ``loss_bounds`` one by one).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from pipelines.home import SOURCES_DIR

DEFAULTS_FILE = "_defaults.yml"
ROLES = ("identity", "structural", "descriptive")

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
    # identity (the key) / structural (what the row means nothing without) / descriptive (everything else):
    # only an identity or structural failure quarantines a row (sources/README.md, "Field roles").
    role: str = "descriptive"
    other: Any = None                  # enum: the code an unknown label of a descriptive column maps to
    derivation: str | None = None      # words: where the value comes from when the export lacks it

    @property
    def strict(self) -> bool:
        """A failure of this column quarantines the row (identity or structural)."""
        return self.role != "descriptive"

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
    loss_bounds: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    # Per-file resource limits (``resources`` of _defaults.yml; pipelines/ingest/boundary.py)
    resources: dict[str, Any] = field(default_factory=dict)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.feed}: no column {name!r}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _column(raw: dict[str, Any], primary_key: tuple[str, ...] = ()) -> Column:
    raw = dict(raw)
    if "role" not in raw:
        # A contract that states no role: the key is identity, a required column structural, the rest
        # descriptive (the contracts of sources/ state every role; this keeps a new contract working).
        raw["role"] = ("identity" if raw["name"] in primary_key else
                       "structural" if raw.get("required") or raw.get("type") == "geometry" else "descriptive")
    if "synonyms" in raw:
        raw["synonyms"] = tuple(str(s) for s in raw["synonyms"])
    if "range" in raw:
        raw["range"] = tuple(raw["range"])
    if "values" in raw:
        raw["values"] = {str(k): v for k, v in raw["values"].items()}
    column = Column(**raw)
    if column.role not in ROLES:
        raise ValueError(f"column {column.name}: role must be one of {ROLES}, not {column.role!r}")
    if (column.role == "identity") != (column.name in primary_key):
        raise ValueError(f"column {column.name}: the primary key columns, and only they, have the role identity")
    if column.other is not None and column.other not in column.values.values():
        raise ValueError(f"column {column.name}: `other` must be one of the codes of `values`")
    return column


def load_defaults(sources_dir: Path = SOURCES_DIR) -> dict[str, Any]:
    """``sources/_defaults.yml`` (empty when absent)."""
    path = sources_dir / DEFAULTS_FILE
    if not path.exists():
        return {}
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _inherit(defaults: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
    """The contract's keys over the defaults; mappings merge key by key (a contract may override one bound)."""
    merged = dict(defaults)
    for key, value in raw.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def load_contract(path: Path, defaults: dict[str, Any] | None = None) -> Contract:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw = _inherit(load_defaults(path.parent) if defaults is None else defaults, raw)
    primary_key = tuple(raw["primary_key"])
    return Contract(
        feed=raw["feed"], title_zh=raw["title_zh"], description=raw["description"],
        owner=raw["owner"], format=raw["format"], file_patterns=tuple(raw["file_patterns"]),
        cadence=raw["cadence"], primary_key=primary_key,
        columns=tuple(_column(c, primary_key) for c in raw["columns"]),
        encodings=tuple(raw.get("encodings", ())), crs=tuple(raw.get("crs", ())),
        store_crs=raw.get("store_crs"), partition_by=raw.get("partition_by"),
        row_rules=tuple(raw.get("row_rules", ())), factors=raw.get("factors", {}),
        flags=raw.get("flags", {}), loss_bounds=dict(raw.get("loss_bounds") or {}), path=path,
        resources=dict(raw.get("resources") or {}),
    )


def contract_paths(sources_dir: Path = SOURCES_DIR) -> list[Path]:
    """The feed contracts of a folder (``_*.yml`` are defaults and other non-feed files)."""
    return [p for p in sorted(sources_dir.glob("*.yml")) if not p.name.startswith("_")]


@lru_cache(maxsize=None)
def load_contracts(sources_dir: Path = SOURCES_DIR) -> dict[str, Contract]:
    contracts = {}
    defaults = load_defaults(sources_dir)
    for path in contract_paths(sources_dir):
        contract = load_contract(path, defaults)
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


def delivered_feeds(sources_dir: Path = SOURCES_DIR) -> tuple[str, ...]:
    """The feeds bureaus deliver on a cadence (what the sample writes); not the on-demand records such as alert
    acknowledgements, which the platform's own commands write."""
    return tuple(f for f, c in load_contracts(sources_dir).items() if overdue_after_days(c.cadence) is not None)


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
