"""Re-map stored records when the contract learns a label: no re-delivery needed.

A descriptive label the contract did not know was stored as NULL (or the enum's ``other`` code) with the text
as sent in ``raw.<feed>._unmapped`` and an ``unknown_label`` finding. When a data engineer adds the label as a
synonym (``sources/<feed>.yml`` ``values``, or an alias in ``sources/reference/districts.csv``), the next load
of the feed runs ``remap`` first: every stored version whose kept text now maps gets its code, loses the
entry in ``_unmapped`` and has its ``_row_hash`` recomputed (so a later re-delivery of the same file is
"unchanged"); the findings of that label are marked ``resolved_at`` / ``resolved_as``. All in SQL, one
statement per field; nothing happens when no finding is open.

Records quarantined because a *structural* label was unknown are not in ``raw``: their finding is resolved
(the label is known now) but the records need the file again (``rows_quarantined`` of the finding says
how many).
"""
from __future__ import annotations

import duckdb

from pipelines.contracts import Column, Contract
from pipelines.ingest import findings
from pipelines.ingest.normalise import enum_sql, sql_ident, sql_str
from pipelines.ingest.schema import enum_is_integer, output_columns, row_hash_sql


def code_sql(column: Column, text_sql: str) -> str:
    """The code a text maps to under the current contract (NULL when it still does not)."""
    clean = f"ss_clean({text_sql})"
    if column.type == "district":
        return f"ss_district({clean})"
    return enum_sql(clean, column.values, enum_is_integer(column))


def remap(con: duckdb.DuckDBPyConnection, contract: Contract) -> dict[str, int]:
    """Apply the current contract to the open unknown-label findings of a feed; field → records re-mapped."""
    pending = [r[0] for r in con.execute(
        f"SELECT DISTINCT field FROM {findings.TABLE} WHERE feed = ? AND kind = 'unknown_label' "
        "AND resolved_at IS NULL AND field IS NOT NULL ORDER BY 1", [contract.feed]).fetchall()]
    columns = {c.name: c for c in contract.columns if c.type in ("enum", "district")}
    done: dict[str, int] = {}
    table = f"raw.{sql_ident(contract.feed)}"
    for field in pending:
        column = columns.get(field)
        if column is None:
            continue
        resolvable = con.execute(
            f"SELECT count(*) FROM {findings.TABLE} WHERE feed = ? AND field = ? AND kind = 'unknown_label' "
            f"AND resolved_at IS NULL AND {code_sql(column, 'value')} IS NOT NULL",
            [contract.feed, field]).fetchone()[0]
        if not resolvable:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            n = 0
            if not column.strict:
                kept = f"_unmapped[{sql_str(field)}]"
                new_code = code_sql(column, kept)
                new_map = (f"CASE WHEN cardinality(_unmapped) = 1 THEN NULL ELSE map_from_entries("
                           f"list_filter(map_entries(_unmapped), e -> e.key <> {sql_str(field)})) END")
                (name, sqltype), = output_columns(column)
                new_hash = row_hash_sql(contract, overrides={name: f"CAST({new_code} AS {sqltype})",
                                                             "_unmapped": new_map})
                n = con.execute(f"""
                    UPDATE {table} SET {sql_ident(name)} = CAST({new_code} AS {sqltype}), _unmapped = {new_map},
                           _row_hash = {new_hash}
                    WHERE {kept} IS NOT NULL AND {new_code} IS NOT NULL
                """).fetchone()[0]
            con.execute(f"""
                UPDATE {findings.TABLE} SET resolved_at = now()::TIMESTAMP,
                       resolved_as = CAST({code_sql(column, 'value')} AS VARCHAR)
                WHERE feed = ? AND field = ? AND kind = 'unknown_label' AND resolved_at IS NULL
                  AND {code_sql(column, 'value')} IS NOT NULL
            """, [contract.feed, field])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        done[field] = n
    return done
