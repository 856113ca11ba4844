"""The one place that opens DuckDB connections (engine-specific code behind one adapter).

Extensions come from the pinned ``duckdb-extension-*`` wheels: DuckDB cannot download them here.
``import_extension`` installs the wheel's binary into DuckDB's extension directory, after which
``LOAD`` works in this process and in dbt's subprocess alike.
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import duckdb_extensions

EXTENSIONS = ("spatial", "excel")


def install_extensions() -> None:
    con = duckdb.connect()
    try:
        for name in EXTENSIONS:
            duckdb_extensions.import_extension(name, con=con)
    finally:
        con.close()


def connect(path: str | Path | None = None, *, read_only: bool = False,
            extensions: tuple[str, ...] = EXTENSIONS) -> duckdb.DuckDBPyConnection:
    """Open a connection with the extensions loaded; ``path=None`` is in-memory."""
    con = duckdb.connect(str(path) if path else ":memory:", read_only=read_only)
    load(con, *extensions)
    return con


def load(con: duckdb.DuckDBPyConnection, *extensions: str) -> None:
    """Load extensions into an open connection (a connection opened with ``extensions=()`` that turns out
    to need spatial, say), installing them from the pinned wheels the first time."""
    for name in extensions:
        try:
            con.execute(f"LOAD {name}")
        except duckdb.Error:
            duckdb_extensions.import_extension(name, con=con)
            con.execute(f"LOAD {name}")
