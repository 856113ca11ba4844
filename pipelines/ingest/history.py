"""``raw.<feed>``: every version of every record (SCD2), and the ``raw.<feed>_current`` view.

A clean record whose key is new is inserted as current. One whose key is current with the same content
(``_row_hash``) adds nothing: the file is true, the warehouse already says so. One whose key is current
with different content closes the current version (``_valid_to``, ``_is_current = false``) and becomes
the current version itself.

Daily feeds (``partition_by``) are appended a day at a time: the supersession check reads only the
current rows inside the new file's date range, a filter DuckDB answers from the row groups' min/max
zone maps, so the cost of a new day does not grow with the history.
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb

from pipelines.contracts import Contract
from pipelines.ingest.schema import data_columns, raw_columns

CMP_TABLE = "_ingest_cmp"


def table_name(contract: Contract) -> str:
    return f'raw."{contract.feed}"'


def _q(name: str) -> str:
    return '"' + name + '"'


def ensure(con: duckdb.DuckDBPyConnection, contract: Contract) -> None:
    """Create the table and view; add columns a newer contract declares (never drops any)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    columns = raw_columns(contract)
    con.execute(f"CREATE TABLE IF NOT EXISTS {table_name(contract)} "
                f"({', '.join(f'{_q(n)} {t}' for n, t in columns)})")
    have = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'raw' AND table_name = ?",
        [contract.feed]).fetchall()}
    for name, sqltype in columns:
        if name not in have:
            con.execute(f"ALTER TABLE {table_name(contract)} ADD COLUMN {_q(name)} {sqltype}")
    con.execute(f'CREATE OR REPLACE VIEW raw."{contract.feed}_current" AS '
                f"SELECT * FROM {table_name(contract)} WHERE _is_current")


@dataclass
class Applied:
    new: int
    changed: int
    unchanged: int

    @property
    def loaded(self) -> int:
        return self.new + self.changed + self.unchanged


def apply(con: duckdb.DuckDBPyConnection, contract: Contract, checked: str, file_id: int, file_name: str,
          at) -> Applied:
    """Merge the clean records of ``checked`` into ``raw.<feed>``."""
    table = table_name(contract)
    keys = list(contract.primary_key)
    on = " AND ".join(f"cur.{_q(k)} IS NOT DISTINCT FROM c.{_q(k)}" for k in keys)
    window = ""
    if contract.partition_by:
        part = _q(contract.partition_by)
        lo, hi = con.execute(f"SELECT min({part}), max({part}) FROM {checked} WHERE _reasons IS NULL").fetchone()
        if lo is None:
            window = "AND false"
        else:
            window = f"AND {part} BETWEEN DATE '{lo}' AND DATE '{hi}'"
    key_list = ", ".join(_q(k) for k in keys)
    current = f"SELECT rowid AS _rid, _row_hash, {key_list} FROM {table} WHERE _is_current {window}"
    if con.execute(f"SELECT count(*) FROM ({current} LIMIT 1)").fetchone()[0] == 0:
        current += " AND false"          # nothing to supersede: spare the join its build side
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {CMP_TABLE} AS
        SELECT c._source_row, c._row_hash, cur._rid AS _cur_rid, cur._row_hash AS _cur_hash
        FROM (SELECT _source_row, _row_hash, {key_list} FROM {checked} WHERE _reasons IS NULL) c
        LEFT JOIN ({current}) cur ON {on}
    """)
    new, changed, unchanged = con.execute(f"""
        SELECT count(*) FILTER (WHERE _cur_rid IS NULL),
               count(*) FILTER (WHERE _cur_rid IS NOT NULL AND _cur_hash <> _row_hash),
               count(*) FILTER (WHERE _cur_hash = _row_hash)
        FROM {CMP_TABLE}
    """).fetchone()
    if changed:
        con.execute(f"""
            UPDATE {table} SET _valid_to = ?::TIMESTAMP, _is_current = false
            WHERE _is_current {window}
              AND rowid IN (SELECT _cur_rid FROM {CMP_TABLE} WHERE _cur_hash <> _row_hash)
        """, [at])
    if new or changed:
        cols = [n for n, _ in data_columns(contract)]
        # Time series land clustered by day, so the zone maps of later appends stay narrow.
        order = f"ORDER BY c.{_q(contract.partition_by)}" if contract.partition_by else ""
        con.execute(f"""
            INSERT INTO {table}
            SELECT {', '.join('c.' + _q(n) for n in cols)}, ?, ?, c._source_row, c._row_hash,
                   ?::TIMESTAMP, NULL::TIMESTAMP, true
            FROM {checked} c JOIN {CMP_TABLE} m USING (_source_row)
            WHERE m._cur_rid IS NULL OR m._cur_hash <> m._row_hash
            {order}
        """, [file_id, file_name, at])
    con.execute(f"DROP TABLE {CMP_TABLE}")
    return Applied(new, changed, unchanged)
