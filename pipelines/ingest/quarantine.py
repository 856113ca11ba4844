"""``quarantine.<feed>``: the records that broke the contract, with the cells as sent and every reason.

Messages name the file, the record (``source_row``), the field and the value, in Chinese for the bureau
and in English, e.g. ``文件「331002_椒江区_排水许可.csv」第17行，字段「统一社会信用代码」(credit_code)：
统一社会信用代码校验位错误（原值：91330…）``.
"""
from __future__ import annotations

import duckdb

from pipelines.contracts import Contract
from pipelines.ingest.normalise import sql_ident, sql_str
from pipelines.ingest.readers import GROUP_FILE_COLUMN, Extract

RAW_TABLE = "_ingest_raw_values"
REASON_TYPE = "STRUCT(field VARCHAR, rule VARCHAR, message_zh VARCHAR, message_en VARCHAR)[]"


def table_name(contract: Contract) -> str:
    return f"quarantine.{sql_ident(contract.feed)}"


def ensure(con: duckdb.DuckDBPyConnection, contract: Contract) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS quarantine")
    con.execute(f"""
        CREATE TABLE IF NOT EXISTS {table_name(contract)} (
            _file_id BIGINT, _source_file VARCHAR, _source_row BIGINT, raw_values JSON,
            reasons {REASON_TYPE}, quarantined_at TIMESTAMP)
    """)


def insert(con: duckdb.DuckDBPyConnection, contract: Contract, extracts: dict[int, Extract], checked: str,
           files_table: str) -> dict[int, int]:
    """Copy the checked records that have reasons into the quarantine, for the batch files ``extracts``
    (``_batch_file`` → extract; ``files_table`` maps it to file_id, file name and load time).
    Returns the number of records quarantined per batch file."""
    bad_rows = dict(con.execute(
        f"SELECT _batch_file, list(_source_row) FROM {checked} WHERE _reasons IS NOT NULL GROUP BY 1").fetchall())
    bad_rows = {k: rows for k, rows in bad_rows.items() if k in extracts}
    if not bad_rows:
        return {}
    # The cells as sent, per file (each file has its own columns), then one insert for the batch.
    con.execute(f"CREATE OR REPLACE TEMP TABLE {RAW_TABLE} (_batch_file INTEGER, _source_row BIGINT, raw_values JSON)")
    singles = [k for k in bad_rows if extracts[k].file_index is None]
    for k in singles:
        extract, rows = extracts[k], bad_rows[k]
        pairs = ", ".join(f"{sql_str(h)}, {sql_ident(c)}" for h, c in zip(extract.raw_headers, extract.raw_columns))
        con.execute(f"INSERT INTO {RAW_TABLE} SELECT {int(k)}, _source_row, json_object({pairs}) "
                    f"FROM {sql_ident(extract.table)} WHERE _source_row IN ({', '.join(str(int(r)) for r in rows)})")
    # Files read as a group share one table: one statement for all of them.
    groups: dict[str, list[int]] = {}
    for k in bad_rows:
        if extracts[k].file_index is not None:
            groups.setdefault(extracts[k].table, []).append(k)
    for table, ks in groups.items():
        extract = extracts[ks[0]]
        pairs = ", ".join(f"{sql_str(h)}, d.{sql_ident(c)}" for h, c in zip(extract.raw_headers, extract.raw_columns))
        index = ", ".join(f"({int(k)}, {int(extracts[k].file_index)})" for k in ks)
        con.execute(f"""
            INSERT INTO {RAW_TABLE}
            SELECT b._batch_file, d._source_row, json_object({pairs})
            FROM (SELECT _batch_file, unnest(list(_source_row)) AS _source_row FROM {checked}
                  WHERE _reasons IS NOT NULL AND _batch_file IN ({', '.join(str(int(k)) for k in ks)}) GROUP BY 1) b
            JOIN (VALUES {index}) m(k, i) ON m.k = b._batch_file
            JOIN {sql_ident(table)} d ON d.{GROUP_FILE_COLUMN} = m.i AND d._source_row = b._source_row
        """)
    message_zh = ("'文件「' || f.file_name || '」第' || c._source_row || '行，' || r.zh "
                  "|| CASE WHEN r.value IS NOT NULL THEN '（原值：' || r.value || '）' ELSE '' END")
    message_en = ("'File ' || f.file_name || ', row ' || c._source_row || ', ' || r.en "
                  "|| CASE WHEN r.value IS NOT NULL THEN ' (value sent: ' || r.value || ')' ELSE '' END")
    con.execute(f"""
        INSERT INTO {table_name(contract)}
        SELECT f.file_id, f.file_name, c._source_row, d.raw_values,
               list_transform(c._reasons, r -> {{'field': r.field, 'rule': r.rule,
                                                 'message_zh': {message_zh}, 'message_en': {message_en}}}),
               f.loaded_at
        FROM {checked} c
        JOIN {RAW_TABLE} d ON d._batch_file = c._batch_file AND d._source_row = c._source_row
        JOIN {files_table} f ON f.k = c._batch_file
        ORDER BY c._batch_file, c._source_row
    """)
    con.execute(f"DROP TABLE {RAW_TABLE}")
    return {k: len(rows) for k, rows in bad_rows.items()}
