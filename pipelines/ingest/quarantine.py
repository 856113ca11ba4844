"""``quarantine.<feed>``: the records that broke the contract, with the cells as sent and every reason.

Messages name the file, the record (``source_row``), the field and the value, in Chinese for the bureau
and in English, e.g. ``文件「331002_椒江区_排水许可.csv」第17行，字段「统一社会信用代码」(credit_code)：
统一社会信用代码校验位错误（原值：91330…）``.
"""
from __future__ import annotations

import duckdb

from pipelines.contracts import Contract
from pipelines.ingest.normalise import sql_str
from pipelines.ingest.readers import Extract

REASON_TYPE = "STRUCT(field VARCHAR, rule VARCHAR, message_zh VARCHAR, message_en VARCHAR)[]"


def table_name(contract: Contract) -> str:
    return f'quarantine."{contract.feed}"'


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
    counts = dict(con.execute(
        f"SELECT _batch_file, count(*) FROM {checked} WHERE _reasons IS NOT NULL GROUP BY 1").fetchall())
    branches = []
    for k, extract in extracts.items():
        if not counts.get(k):
            continue
        pairs = ", ".join(f"{sql_str(h)}, d.\"{c}\"" for h, c in zip(extract.raw_headers, extract.raw_columns))
        branches.append(
            f"SELECT {k}::INTEGER AS _batch_file, d._source_row, json_object({pairs}) AS raw_values "
            f"FROM \"{extract.table}\" d WHERE d._source_row IN "
            f"(SELECT _source_row FROM {checked} WHERE _batch_file = {k} AND _reasons IS NOT NULL)")
    if not branches:
        return {}
    message_zh = ("'文件「' || f.file_name || '」第' || c._source_row || '行，' || r.zh "
                  "|| CASE WHEN r.value IS NOT NULL THEN '（原值：' || r.value || '）' ELSE '' END")
    message_en = ("'File ' || f.file_name || ', row ' || c._source_row || ', ' || r.en "
                  "|| CASE WHEN r.value IS NOT NULL THEN ' (value sent: ' || r.value || ')' ELSE '' END")
    union = "\nUNION ALL\n".join(branches)
    con.execute(f"""
        INSERT INTO {table_name(contract)}
        SELECT f.file_id, f.file_name, c._source_row, d.raw_values,
               list_transform(c._reasons, r -> {{'field': r.field, 'rule': r.rule,
                                                 'message_zh': {message_zh}, 'message_en': {message_en}}}),
               f.loaded_at
        FROM {checked} c
        JOIN ({union}) d ON d._batch_file = c._batch_file AND d._source_row = c._source_row
        JOIN {files_table} f ON f.k = c._batch_file
        WHERE c._reasons IS NOT NULL
        ORDER BY c._batch_file, c._source_row
    """)
    return {k: n for k, n in counts.items() if k in extracts}
