"""The data home: every path the platform reads or writes derives from one root.

Root: ``--home DIR`` > ``SEWERSHARE_HOME`` > ``./data``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SOURCES_DIR = REPO_ROOT / "sources"
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"


@dataclass(frozen=True)
class DataHome:
    root: Path

    @classmethod
    def resolve(cls, home: str | os.PathLike | None = None) -> "DataHome":
        chosen = home or os.environ.get("SEWERSHARE_HOME") or "./data"
        return cls(Path(chosen).expanduser().resolve())

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    def landing_for(self, feed: str) -> Path:
        return self.landing / feed

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    @property
    def rejected(self) -> Path:
        return self.root / "rejected"

    @property
    def warehouse_dir(self) -> Path:
        return self.root / "warehouse"

    @property
    def warehouse(self) -> Path:
        return self.warehouse_dir / "sewershare.duckdb"

    @property
    def published_dir(self) -> Path:
        return self.root / "published"

    @property
    def published(self) -> Path:
        return self.published_dir / "sewershare.duckdb"

    @property
    def extracts(self) -> Path:
        return self.root / "extracts"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def dagster(self) -> Path:
        """DAGSTER_HOME of this data home: the persistent Dagster instance (pipelines/operations/instance.py)."""
        return self.root / "dagster"

    @property
    def alerts(self) -> Path:
        """Alerts of failed runs, in Chinese (pipelines/operations/alerts.py)."""
        return self.root / "alerts"

    @property
    def sample_truth(self) -> Path:
        return self.root / "sample_truth.json"

    def ensure(self) -> "DataHome":
        for path in (self.landing, self.archive, self.rejected, self.warehouse_dir,
                     self.published_dir, self.extracts, self.reports):
            path.mkdir(parents=True, exist_ok=True)
        return self
