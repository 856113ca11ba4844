"""The portal's state: tokens (as hashes), requests for conditional data, and the head of the audit chain.

SQLite in WAL mode in the data home (``share/portal.sqlite3``): a long-running ``sewershare serve`` and CLI commands
(``token issue``, ``approve``) write at the same time; WAL lets readers go on while one writer commits, and the busy
timeout makes a second writer wait instead of failing. (DuckDB allows one writer process per file, so it is not
used here.) Every call opens its own short connection, so the web server's threads never share one.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.home import DataHome

SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    token_id    TEXT PRIMARY KEY,
    recipient   TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,      -- sha256 of the token; the token itself is never stored
    issued_at   TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    revoked_at  TEXT,
    note        TEXT
);
CREATE TABLE IF NOT EXISTS requests (
    request_id  INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient   TEXT NOT NULL,
    dataset     TEXT NOT NULL,
    purpose     TEXT NOT NULL,             -- 用途
    scenario    TEXT NOT NULL,             -- 场景
    requested_at TEXT NOT NULL,
    due_on      TEXT NOT NULL,             -- answer due (working days, official calendar)
    calendar_covered INTEGER NOT NULL DEFAULT 1,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'refused')),
    decided_at  TEXT,
    decided_by  TEXT,
    reason      TEXT,
    expires_on  TEXT                       -- an approval's entitlement ends after this day
);
CREATE INDEX IF NOT EXISTS requests_by_recipient ON requests (recipient, dataset);
CREATE TABLE IF NOT EXISTS audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
"""


def store_path(home: DataHome) -> Path:
    return home.root / "share" / "portal.sqlite3"


@contextmanager
def connect(home: DataHome) -> Iterator[sqlite3.Connection]:
    path = store_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA busy_timeout=30000")
        con.executescript(SCHEMA)
        yield con
    finally:
        con.close()


@contextmanager
def transaction(home: DataHome) -> Iterator[sqlite3.Connection]:
    """One write transaction (BEGIN IMMEDIATE: the write lock is taken up front, so it cannot deadlock later)."""
    with connect(home) as con:
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
