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
from pipelines.ingest.normalise import sql_ident
from pipelines.ingest.schema import data_columns, raw_columns

CMP_TABLE = "_ingest_cmp"


def table_name(contract: Contract) -> str:
    return f"raw.{sql_ident(contract.feed)}"


def ensure(con: duckdb.DuckDBPyConnection, contract: Contract) -> None:
    """Create the table and view; add columns a newer contract declares (never drops any)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    columns = raw_columns(contract)
    con.execute(f"CREATE TABLE IF NOT EXISTS {table_name(contract)} "
                f"({', '.join(f'{sql_ident(n)} {t}' for n, t in columns)})")
    have = {r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'raw' AND table_name = ? "
        "AND database_name = current_database()",
        [contract.feed]).fetchall()}
    for name, sqltype in columns:
        if name not in have:
            con.execute(f"ALTER TABLE {table_name(contract)} ADD COLUMN {sql_ident(name)} {sqltype}")
    con.execute(f"CREATE OR REPLACE VIEW raw.{sql_ident(contract.feed + '_current')} AS "
                f"SELECT * FROM {table_name(contract)} WHERE _is_current")


@dataclass
class Applied:
    new: int
    changed: int
    unchanged: int

    @property
    def loaded(self) -> int:
        return self.new + self.changed + self.unchanged


def apply(con: duckdb.DuckDBPyConnection, contract: Contract, checked: str, files_table: str,
          batch_files: list[int]) -> dict[int, Applied]:
    """Merge the clean records of the batch files into ``raw.<feed>``, in delivery order.

    ``files_table`` has one row per batch file (``k``, ``file_id``, ``file_name``, ``loaded_at``); a
    later file of the batch supersedes an earlier one exactly as if they had been loaded one by one.
    """
    table = table_name(contract)
    keys = list(contract.primary_key)
    ks = ", ".join(str(int(k)) for k in batch_files)
    on = " AND ".join(f"cur.{sql_ident(k)} IS NOT DISTINCT FROM c.{sql_ident(k)}" for k in keys)
    by_key = ", ".join(sql_ident(k) for k in keys)
    window = ""
    if contract.partition_by:
        part = sql_ident(contract.partition_by)
        lo, hi = con.execute(f"SELECT min({part}), max({part}) FROM {checked} "
                             f"WHERE _reasons IS NULL AND _batch_file IN ({ks})").fetchone()
        window = "AND false" if lo is None else f"AND {part} BETWEEN DATE '{lo}' AND DATE '{hi}'"
    current = f"SELECT rowid AS _rid, _row_hash, {by_key} FROM {table} WHERE _is_current {window}"
    if con.execute(f"SELECT count(*) FROM ({current} LIMIT 1)").fetchone()[0] == 0:
        current += " AND false"          # nothing to supersede: spare the join its build side
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {CMP_TABLE} AS
        WITH joined AS (
            SELECT c._batch_file AS _k, c._source_row, c._row_hash, {', '.join('c.' + sql_ident(k) for k in keys)},
                   cur._rid AS _cur_rid, cur._row_hash AS _cur_hash
            FROM {checked} c LEFT JOIN ({current}) cur ON {on}
            WHERE c._reasons IS NULL AND c._batch_file IN ({ks})
        ), ordered AS (
            SELECT *, row_number() OVER w AS _nth, lag(_row_hash) OVER w AS _prev_in_batch
            FROM joined WINDOW w AS (PARTITION BY {by_key} ORDER BY _k)
        )
        SELECT _k, _source_row, _cur_rid, {by_key},
               CASE WHEN _nth = 1 AND _cur_hash IS NULL THEN 'new'
                    WHEN (CASE WHEN _nth = 1 THEN _cur_hash ELSE _prev_in_batch END) = _row_hash THEN 'unchanged'
                    ELSE 'changed' END AS _status
        FROM ordered
    """)
    counts = {k: Applied(0, 0, 0) for k in batch_files}
    for k, new, changed, unchanged in con.execute(f"""
            SELECT _k, count(*) FILTER (WHERE _status = 'new'), count(*) FILTER (WHERE _status = 'changed'),
                   count(*) FILTER (WHERE _status = 'unchanged')
            FROM {CMP_TABLE} GROUP BY 1""").fetchall():
        counts[k] = Applied(new, changed, unchanged)
    if any(a.new or a.changed for a in counts.values()):
        # Each new version is valid until the next version of its key in this batch (if any).
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {CMP_TABLE}_v AS
            SELECT m._k, m._source_row, m._cur_rid, f.loaded_at AS _from,
                   lead(f.loaded_at) OVER (PARTITION BY {', '.join('m.' + sql_ident(k) for k in keys)} ORDER BY m._k) AS _to
            FROM {CMP_TABLE} m JOIN {files_table} f ON f.k = m._k
            WHERE m._status <> 'unchanged'
        """)
        con.execute(f"""
            UPDATE {table} SET _valid_to = x._from, _is_current = false
            FROM (SELECT _cur_rid, min(_from) AS _from FROM {CMP_TABLE}_v
                  WHERE _cur_rid IS NOT NULL GROUP BY 1) x
            WHERE {table}.rowid = x._cur_rid {window}
        """)
        cols = [n for n, _ in data_columns(contract)]
        # Time series land clustered by day, so the zone maps of later appends stay narrow.
        order = f"ORDER BY c.{sql_ident(contract.partition_by)}" if contract.partition_by else ""
        # BY NAME: a column a newer contract added to an existing table sits after the lineage columns.
        con.execute(f"""
            INSERT INTO {table} BY NAME
            SELECT {', '.join('c.' + sql_ident(n) for n in cols)}, f.file_id AS _file_id, f.file_name AS _source_file,
                   c._source_row, c._row_hash, v._from AS _valid_from, v._to AS _valid_to,
                   v._to IS NULL AS _is_current, c._unmapped
            FROM {checked} c
            JOIN {CMP_TABLE}_v v ON v._k = c._batch_file AND v._source_row = c._source_row
            JOIN {files_table} f ON f.k = c._batch_file
            {order}
        """)
        con.execute(f"DROP TABLE {CMP_TABLE}_v")
    con.execute(f"DROP TABLE {CMP_TABLE}")
    return counts
