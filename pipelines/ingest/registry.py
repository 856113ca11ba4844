"""``audit.file_registry``: one row per delivered file and what became of it.

A file is known by the SHA-256 of its bytes, so a re-sent or renamed copy of a loaded file is skipped
(``skipped_duplicate``, pointing at the load it repeats). Invariant per file:
``rows_read = rows_loaded + rows_quarantined`` (``rows_loaded`` = new + changed + unchanged records).
"""
from __future__ import annotations

from datetime import datetime

import duckdb

TABLE = "audit.file_registry"
COLUMNS: tuple[tuple[str, str], ...] = (
    ("file_id", "BIGINT"), ("feed", "VARCHAR"), ("file_name", "VARCHAR"), ("sha256", "VARCHAR"),
    ("bytes", "BIGINT"), ("encoding", "VARCHAR"), ("crs", "VARCHAR"),
    ("rows_read", "BIGINT"), ("rows_loaded", "BIGINT"), ("rows_quarantined", "BIGINT"),
    ("status", "VARCHAR"), ("error", "VARCHAR"), ("loaded_at", "TIMESTAMP"), ("run_id", "VARCHAR"),
    # beyond the interface: how the loaded rows split, where the file went, how long it took
    ("rows_blank", "BIGINT"), ("rows_remarks", "BIGINT"),
    ("rows_new", "BIGINT"), ("rows_changed", "BIGINT"), ("rows_unchanged", "BIGINT"),
    ("duplicate_of", "BIGINT"), ("stored_as", "VARCHAR"), ("seconds", "DOUBLE"),
    # how much of the file was lost or not understood: quarantined records, and kept records holding a
    # descriptive value the contract could not read (audit.file_findings says which), over rows_read
    ("rows_unmapped", "BIGINT"), ("quarantine_rate", "DOUBLE"), ("unmapped_rate", "DOUBLE"),
)
FEED_RATES_VIEW = "audit.feed_rates"
STATUSES = ("loaded", "skipped_duplicate", "rejected")


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS audit")
    con.execute("CREATE SEQUENCE IF NOT EXISTS audit.file_id_seq START 1")
    con.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} ({', '.join(f'{n} {t}' for n, t in COLUMNS)})")
    have = {r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'audit' AND table_name = 'file_registry' "
        "AND database_name = current_database()").fetchall()}
    for name, sqltype in COLUMNS:
        if name not in have:
            con.execute(f"ALTER TABLE {TABLE} ADD COLUMN {name} {sqltype}")
    # Per feed and run (run_id NULL: all runs): what was delivered, lost and not understood.
    con.execute(f"""
        CREATE OR REPLACE VIEW {FEED_RATES_VIEW} AS
        SELECT feed, run_id,
               count(*) FILTER (WHERE status = 'loaded') AS files_loaded,
               count(*) FILTER (WHERE status = 'rejected') AS files_rejected,
               count(*) FILTER (WHERE status = 'skipped_duplicate') AS files_skipped,
               coalesce(sum(rows_read), 0) AS rows_read, coalesce(sum(rows_loaded), 0) AS rows_loaded,
               coalesce(sum(rows_quarantined), 0) AS rows_quarantined,
               coalesce(sum(rows_unmapped), 0) AS rows_unmapped,
               sum(rows_quarantined) / nullif(sum(rows_read), 0) AS quarantine_rate,
               sum(rows_unmapped) / nullif(sum(rows_read), 0) AS unmapped_rate
        FROM {TABLE}
        GROUP BY GROUPING SETS ((feed, run_id), (feed))
    """)


def next_file_id(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("SELECT nextval('audit.file_id_seq')").fetchone()[0]


def next_file_ids(con: duckdb.DuckDBPyConnection, n: int) -> list[int]:
    if n <= 0:
        return []
    return [r[0] for r in con.execute(f"SELECT nextval('audit.file_id_seq') FROM range({int(n)})").fetchall()]


def loaded_shas(con: duckdb.DuckDBPyConnection, feed: str, shas: list[str]) -> dict[str, tuple[int, str]]:
    """sha256 → (file_id, file_name) of the first load, for those of ``shas`` loaded before in this feed."""
    if not shas:
        return {}
    rows = con.execute(
        f"SELECT sha256, min(file_id), arg_min(file_name, file_id) FROM {TABLE} "
        "WHERE feed = ? AND status = 'loaded' AND sha256 IN (SELECT unnest(?::VARCHAR[])) GROUP BY 1",
        [feed, list(shas)]).fetchall()
    return {sha: (file_id, name) for sha, file_id, name in rows}


def record(con: duckdb.DuckDBPyConnection, **values) -> None:
    names = [n for n, _ in COLUMNS]
    unknown = set(values) - set(names)
    if unknown:
        raise ValueError(f"unknown registry columns {unknown}")
    if values.get("status") not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}")
    values.setdefault("loaded_at", datetime.now())
    con.execute(f"INSERT INTO {TABLE} ({', '.join(values)}) VALUES ({', '.join('?' for _ in values)})",
                list(values.values()))


def record_many(con: duckdb.DuckDBPyConnection, rows: list[dict]) -> None:
    """Register several files at once (one statement), each row a full set of columns."""
    if not rows:
        return
    names = [n for n, _ in COLUMNS]
    for row in rows:
        if set(row) - set(names) or row.get("status") not in STATUSES:
            raise ValueError(f"bad registry row {row}")
    con.executemany(f"INSERT INTO {TABLE} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
                    [[row.get(n) for n in names] for row in rows])
