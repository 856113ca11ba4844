"""Evaluate the checks of one asset end to end: read through one read-only connection, close it, then persist
state and results.

The Dagster asset checks call ``evaluate_asset``; it takes plain paths and a reader factory so the CLI and the
tests can call it too. The read-only connection comes from ``WarehouseResource.reader()`` (shared lock: it waits
for a running writer instead of failing on DuckDB's file lock) and is closed before anything is written.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import duckdb

from pipelines.home import DataHome
from pipelines.quality.domain import DomainCheck, row_count_check, run_domain_check
from pipelines.quality.results import CheckOutcome
from pipelines.quality.runner import Fingerprints, prepare_connection, run_suite
from pipelines.quality.store import QualityStore
from pipelines.quality.suites import Suite
from pipelines.resources import WarehouseResource

Reader = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]
DEFAULT_ROW_COUNT_BOUNDS = {"severity": "WARN", "max_drop_pct": 50, "max_growth_pct": 300,
                            "description_zh": "行数相对上次运行的变化须在允许范围内（减少不超过50%，增加不超过300%）"}


def reader_for(warehouse: WarehouseResource | str) -> Reader:
    """Read-only connections under the warehouse's shared lock without extensions: loading spatial and
    excel costs ~0.3 s per connection, and most checks need neither (the runner loads spatial when a
    relation has a geometry column)."""
    resource = warehouse if isinstance(warehouse, WarehouseResource) else WarehouseResource(path=str(warehouse))
    return partial(resource.reader, extensions=())


@dataclass
class AssetChecks:
    """Everything checked on one asset: its suite (GE + row count) and its domain checks."""

    asset_key: tuple[str, ...]
    suite: Suite
    domain: list[DomainCheck] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return ["ge_suite", "row_count_change"] + [d.name for d in self.domain]

    def check_id(self, name: str) -> str:
        return f"{'/'.join(self.asset_key)}:{name}"


def evaluate_asset(home: DataHome, reader: Reader, checks: AssetChecks, *, run_id: str | None = None,
                   selected: Iterable[str] | None = None) -> list[CheckOutcome]:
    """Run the selected checks (default all) of one asset; returns their outcomes in ``checks.names`` order."""
    store = QualityStore(home)
    names = [n for n in checks.names if selected is None or n in set(selected)]
    suite = checks.suite
    who: dict[str, Any] = {"feed": suite.meta.get("feed") or suite.meta.get("mart"), "bureau": suite.bureau}
    outcomes: list[CheckOutcome] = []
    states: dict[str, dict[str, Any]] = {}
    validations: list[dict[str, Any]] = []
    with reader() as con:
        prepare_connection(con)
        fingerprints = Fingerprints(con)
        for name in names:
            check_id = checks.check_id(name)
            state = store.load_state(check_id)
            if name == "ge_suite":
                outcome, states[check_id], validations = run_suite(con, suite, state, fingerprints=fingerprints)
                outcome.asset_key = checks.asset_key
            elif name == "row_count_change":
                bounds = suite.meta.get("row_count_change") or DEFAULT_ROW_COUNT_BOUNDS
                outcome, states[check_id] = row_count_check(con, suite.table, checks.asset_key, bounds, state,
                                                            **who)
            else:
                dc = next(d for d in checks.domain if d.name == name)
                outcome, states[check_id] = run_domain_check(con, dc, checks.asset_key, state,
                                                              fingerprints=fingerprints, **who)
            outcomes.append(outcome)
    for check_id, state in states.items():
        store.save_state(check_id, state)
    for v in validations:
        store.save_validation(suite.name, v["chunk"], v["validation"])
    for outcome in outcomes:
        store.save_result(outcome.to_record(run_id))
    return outcomes
