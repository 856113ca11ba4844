"""State shared by the feed generators of one run: paths, seeded streams, spoil plans, truth."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.contracts import Contract
from pipelines.home import DataHome
from pipelines.sample.geo import Projector
from pipelines.sample.rand import stream
from pipelines.sample.table import Spoil, SpoilPlan
from pipelines.sample.truth import FileTruth, Truth
from pipelines.sample.writers import set_mtime

# Share of a feed's records spoiled (one rule each), copied as exact duplicates, and blank rows
# inserted. Together a few percent, as the issue asks.
SPOIL_RATE = 0.02
DUPLICATE_RATE = 0.004
BLANK_RATE = 0.004


@dataclass
class Context:
    home: DataHome
    scale: float
    seed: int
    contracts: dict[str, Contract]
    truth: Truth
    projector: Projector
    bar: Any = None
    plans: dict[str, SpoilPlan] = field(default_factory=dict)
    shared: dict[str, Any] = field(default_factory=dict)

    def rng(self, *keys: object) -> np.random.Generator:
        return stream(self.seed, *keys)

    def plan(self, feed: str, menu: list[Spoil], rate: float = SPOIL_RATE, dup_rate: float = DUPLICATE_RATE,
             blank_rate: float = BLANK_RATE, first: int | None = None) -> SpoilPlan:
        if feed not in self.plans:
            contract = self.contracts[feed]
            roles = {c.name: c.strict for c in contract.columns}
            bounds = contract.loss_bounds
            self.plans[feed] = SpoilPlan(
                self.rng(feed, "plan"), menu, rate, dup_rate, blank_rate,
                strict=lambda field: field is None or roles.get(field, True),
                bound=(float(bounds.get("file_quarantined_share", 1.0)),
                       int(bounds.get("file_quarantined_min_rows", 1 << 30))), first=first)
        return self.plans[feed]

    def new_file(self, feed: str, name: str, container: str, encoding: str | None = None,
                 crs: str | None = None) -> tuple[Path, FileTruth]:
        path = self.home.landing_for(feed) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        rel = path.relative_to(self.home.root).as_posix()
        truth = self.truth.add(FileTruth(path=rel, feed=feed, format=self.contracts[feed].format,
                                          encoding=encoding, crs=crs, container=container))
        return path, truth

    def delivered(self, path: Path, when: dt.datetime | dt.date) -> None:
        """Set the file's mtime to its delivery time (deterministic)."""
        if not isinstance(when, dt.datetime):
            when = dt.datetime(when.year, when.month, when.day, 9, 0, 0)
        set_mtime(path, when)

    def step(self, label: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(label, refresh=False)
            self.bar.update(1)
