"""``audit.file_findings``: what the loader could not understand in a file, field × value × count.

Nothing a bureau sends is dropped in silence. Per loaded file, one row per (field, kind, rule, value):

| kind | what | value |
|---|---|---|
| ``unknown_label`` | an enum or district label the contract does not know (descriptive: the record is kept, typed NULL or the enum's ``other``; identity/structural: the record is quarantined) | the label, folded |
| ``invalid_value`` | a descriptive value that is not a number/date/year, out of range, of the wrong pattern or checksum: kept, typed NULL | the text, folded |
| ``missing_value`` | a descriptive field the contract marks ``required`` left empty: kept | NULL |
| ``derived`` | a value the loader derived because the file left it empty (length from the geometry) | NULL |
| ``censored`` | a measurement below the detection limit (``<0.05``, ``未检出``): stored NULL, the text kept | the text |
| ``header_variant`` | a header matched by a rule, not letter for letter (add it to the synonyms to silence it) | the header |
| ``unmatched_header`` | a filled header naming no contract column (its cells stay in ``raw_values`` only) | the header |
| ``missing_column`` | a contract column the file has no header for: NULL in every record | NULL (``detail``: how it is derived, if it is) |

``count`` counts records (or, for header kinds, 1 per file); ``rows_quarantined`` how many of them were
quarantined for another (or this) reason. ``resolved_at`` / ``resolved_as`` are set when a later contract
maps an unknown label and the stored records were re-mapped (pipelines/ingest/remap.py).
"""
from __future__ import annotations

from datetime import datetime

import duckdb

from pipelines.contracts import Contract
from pipelines.ingest.readers import Extract

TABLE = "audit.file_findings"
COLUMNS: tuple[tuple[str, str], ...] = (
    ("file_id", "BIGINT"), ("feed", "VARCHAR"), ("file_name", "VARCHAR"), ("field", "VARCHAR"),
    ("kind", "VARCHAR"), ("rule", "VARCHAR"), ("value", "VARCHAR"), ("count", "BIGINT"),
    ("rows_quarantined", "BIGINT"), ("detail", "VARCHAR"), ("run_id", "VARCHAR"), ("found_at", "TIMESTAMP"),
    ("resolved_at", "TIMESTAMP"), ("resolved_as", "VARCHAR"),
)
KINDS = ("unknown_label", "invalid_value", "missing_value", "derived", "censored", "header_variant",
         "unmatched_header", "missing_column")
# What a bureau reads about each kind, and what fixes it.
KIND_WORDS: dict[str, tuple[str, str]] = {
    "unknown_label": ("不认识的取值", "unknown label"),
    "invalid_value": ("无法识别的描述性取值（已置空）", "unreadable descriptive value (kept as NULL)"),
    "missing_value": ("描述性必填项为空", "descriptive field left empty"),
    "derived": ("缺失值已推导", "missing value derived"),
    "censored": ("低于检出限（已置空，原文保留）", "below the detection limit (NULL, text kept)"),
    "header_variant": ("表头按规则识别", "header matched by a rule"),
    "unmatched_header": ("无法识别的表头（该列未入库）", "unmatched header (column not loaded)"),
    "missing_column": ("文件缺少此列（全部为空）", "column missing from the file (NULL throughout)"),
}


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS audit")
    con.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} ({', '.join(f'{n} {t}' for n, t in COLUMNS)})")


def record_checked(con: duckdb.DuckDBPyConnection, contract: Contract, checked: str, files_table: str,
                   ks: list[int], run_id: str) -> None:
    """Count the notes of the checked records (descriptive findings of every record, kept or not) and the
    unknown labels that quarantined records, per file of the batch, in one statement."""
    ids = ", ".join(str(int(k)) for k in ks)
    con.execute(f"""
        INSERT INTO {TABLE}
        WITH notes AS (
            SELECT _batch_file, _reasons IS NOT NULL AS q, unnest(_notes) AS n FROM {checked}
            WHERE _notes IS NOT NULL AND _batch_file IN ({ids})
        ), strict_labels AS (
            SELECT _batch_file, true AS q, unnest(_reasons) AS r FROM {checked}
            WHERE _reasons IS NOT NULL AND _batch_file IN ({ids})
        ), found AS (
            SELECT _batch_file, n.field, n.kind, n.rule, n.value, q FROM notes
            UNION ALL
            SELECT _batch_file, r.field, 'unknown_label', r.rule, nullif(trim(ss_fold(r.value)), ''), q
            FROM strict_labels WHERE r.rule = 'enum'
        )
        SELECT f.file_id, ?, f.file_name, x.field, x.kind, x.rule, x.value, count(*), count(*) FILTER (WHERE x.q),
               NULL, ?, f.loaded_at, NULL, NULL
        FROM found x JOIN {files_table} f ON f.k = x._batch_file
        GROUP BY ALL
        ORDER BY 1, 4, 5, 7
    """, [contract.feed, run_id])


def record_headers(con: duckdb.DuckDBPyConnection, contract: Contract, files: list[tuple[int, str, datetime, Extract]],
                   run_id: str) -> None:
    """The header findings of each file (variants, unmatched headers, missing columns)."""
    rows = []
    for file_id, name, at, extract in files:
        for field, header in extract.header_variants.items():
            rows.append([file_id, contract.feed, name, field, "header_variant", None, header, 1, 0, None, run_id, at])
        for header in extract.unmatched_headers:
            rows.append([file_id, contract.feed, name, None, "unmatched_header", None, header, 1, 0, None, run_id, at])
        for field in extract.missing_columns:
            derivation = _derivation(contract, field)
            rows.append([file_id, contract.feed, name, field, "missing_column", None, None, extract.rows_read, 0,
                         derivation, run_id, at])
    if rows:
        # one statement for the batch (executemany pays a statement per row)
        names = [n for n, _ in COLUMNS[:12]]
        values = ", ".join("(" + ", ".join("?" for _ in names) + ")" for _ in rows)
        con.execute(f"INSERT INTO {TABLE} ({', '.join(names)}) VALUES {values}", [x for row in rows for x in row])


def _derivation(contract: Contract, field: str) -> str | None:
    column = next((c for c in contract.columns if c.name == field), None)
    return column.derivation if column is not None else None
