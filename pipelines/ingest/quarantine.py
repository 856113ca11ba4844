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


def insert(con: duckdb.DuckDBPyConnection, contract: Contract, extract: Extract, checked: str,
           file_id: int, file_name: str, at) -> int:
    """Copy the checked records that have reasons into the quarantine; returns how many."""
    pairs = ", ".join(f"{sql_str(h)}, d.\"{c}\"" for h, c in zip(extract.raw_headers, extract.raw_columns))
    name = sql_str(file_name)
    message_zh = (f"'文件「' || {name} || '」第' || c._source_row || '行，' || r.zh "
                  "|| CASE WHEN r.value IS NOT NULL THEN '（原值：' || r.value || '）' ELSE '' END")
    message_en = (f"'File ' || {name} || ', row ' || c._source_row || ', ' || r.en "
                  "|| CASE WHEN r.value IS NOT NULL THEN ' (value sent: ' || r.value || ')' ELSE '' END")
    return con.execute(f"""
        INSERT INTO {table_name(contract)}
        SELECT ?, {name}, c._source_row, json_object({pairs}),
               list_transform(c._reasons, r -> {{'field': r.field, 'rule': r.rule,
                                                 'message_zh': {message_zh}, 'message_en': {message_en}}}),
               ?::TIMESTAMP
        FROM {checked} c JOIN "{extract.table}" d USING (_source_row)
        WHERE c._reasons IS NOT NULL
        ORDER BY c._source_row
    """, [file_id, at]).fetchone()[0]
