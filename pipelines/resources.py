"""Dagster resources: the data home and the warehouse. Configured once in definitions.py, injected."""
from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster import ConfigurableResource

from pipelines import duck
from pipelines.home import DataHome


class HomeResource(ConfigurableResource):
    """The data home (SEWERSHARE_HOME): landing, archive, rejected, warehouse, published, extracts, reports."""

    root: str

    @property
    def home(self) -> DataHome:
        return DataHome.resolve(self.root).ensure()


class WarehouseResource(ConfigurableResource):
    """The DuckDB warehouse file. DuckDB allows one writer process per file, so every write goes
    through ``writer()``, which holds an exclusive lock file for its duration; readers that must
    never wait use the published copy instead."""

    path: str

    @property
    def lock_path(self) -> Path:
        return Path(self.path).with_suffix(".write.lock")

    @contextmanager
    def writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            con = duck.connect(self.path)
            try:
                yield con
            finally:
                con.close()
                fcntl.flock(lock, fcntl.LOCK_UN)

    @contextmanager
    def reader(self, extensions: tuple[str, ...] = duck.EXTENSIONS) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection (waits for a running writer to finish: DuckDB's lock is per process).
        ``extensions=()`` skips loading spatial and excel (~0.3 s a connection) when neither is needed."""
        with open(self.lock_path, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_SH)
            con = duck.connect(self.path, read_only=True, extensions=extensions)
            try:
                yield con
            finally:
                con.close()
                fcntl.flock(lock, fcntl.LOCK_UN)
