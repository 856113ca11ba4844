"""The one place that opens DuckDB connections (engine-specific code behind one adapter).

Extensions come from the pinned ``duckdb-extension-*`` wheels: DuckDB cannot download them here.
``import_extension`` installs the wheel's binary into DuckDB's extension directory, after which
``LOAD`` works in this process and in dbt's subprocess alike.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import duckdb
import duckdb_extensions

EXTENSIONS = ("spatial", "excel")

# No single query may take the machine (issue 14): DuckDB's default is 80 % of RAM per process, on a
# machine other jobs share; past the limit it spills to ``temp_directory``. The same settings reach dbt
# through profiles.yml (``SEWERSHARE_DUCKDB_MEMORY_LIMIT`` / ``SEWERSHARE_DUCKDB_TEMP``, set by
# ``duck.environment``).
MEMORY_LIMIT = os.environ.get("SEWERSHARE_DUCKDB_MEMORY_LIMIT", "4GB")


def temp_directory(path: str | Path | None = None) -> Path:
    """Where DuckDB spills: ``<data home>/tmp/duckdb`` (the home of ``SEWERSHARE_HOME``, or the one holding the
    database file), else the system temp dir; never the working directory (DuckDB's default ``.tmp`` there
    dirtied the checkout)."""
    if os.environ.get("SEWERSHARE_DUCKDB_TEMP"):
        return Path(os.environ["SEWERSHARE_DUCKDB_TEMP"])
    if os.environ.get("SEWERSHARE_HOME"):
        return Path(os.environ["SEWERSHARE_HOME"]) / "tmp" / "duckdb"
    if path:
        db = Path(path).resolve()
        if db.parent.name in ("warehouse", "published"):
            return db.parent.parent / "tmp" / "duckdb"
        return db.parent / ".duckdb-tmp"
    return Path(tempfile.gettempdir()) / "sewershare-duckdb"


def environment(home_root: str | Path) -> dict[str, str]:
    """The variables that give a DuckDB child process (dbt) the same limits as this one."""
    return {"SEWERSHARE_DUCKDB_MEMORY_LIMIT": MEMORY_LIMIT,
            "SEWERSHARE_DUCKDB_TEMP": str(Path(home_root) / "tmp" / "duckdb")}


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
    temp = temp_directory(path)
    try:
        temp.mkdir(parents=True, exist_ok=True)       # DuckDB creates the last level only
    except OSError:
        pass                                          # a read-only home: reading needs no spill space
    config = {"memory_limit": MEMORY_LIMIT, "temp_directory": str(temp)}
    con = duckdb.connect(str(path) if path else ":memory:", read_only=read_only, config=config)
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
