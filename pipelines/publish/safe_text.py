"""Formula-injection ("CSV injection") neutralisation for every text export a person may open in a spreadsheet.

OWASP, CSV Injection: a cell that begins with ``=``, ``+``, ``-``, ``@``, a tab (0x09) or a carriage return (0x0D) may
be evaluated as a formula by Excel, WPS or LibreOffice; prefix such a cell with a single quote so that it is shown
as text. This module is the one home of that rule (issue 14 makes every export use it): a Python function for
values written from Python (openpyxl, csv) and a DuckDB macro for bulk exports written by ``COPY``.

What it does to legitimate values (documented in docs/sharing.md):
- Only text is touched. Numbers exported as numbers (DOUBLE, DECIMAL, INTEGER columns) are never changed, so a
  negative number stays a number.
- A negative number *stored as text* (``"-5"``), a phone number written ``"+86 …"`` or an ``"@handle"`` gains a
  leading ``'``: a spreadsheet shows it as text; a program reading the CSV sees the apostrophe and must strip one
  leading ``'`` before one of the six trigger characters to get the original value back (:func:`restore_text`).
- Every other value is unchanged, byte for byte.
"""
from __future__ import annotations

from typing import Any

import duckdb

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

# The same rule as a DuckDB macro: ``safe_text(col)`` in a SELECT list.
SAFE_TEXT_MACRO_SQL = (
    "CREATE OR REPLACE TEMP MACRO safe_text(s) AS "
    "CASE WHEN s IS NOT NULL AND left(s, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) THEN '''' || s ELSE s END"
)


def safe_text(value: Any) -> Any:
    """``value`` neutralised for a spreadsheet cell (non-text values are returned unchanged)."""
    if isinstance(value, str) and value.startswith(TRIGGERS):
        return "'" + value
    return value


def restore_text(value: Any) -> Any:
    """The inverse of :func:`safe_text` for a program reading an export."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(TRIGGERS):
        return value[1:]
    return value


def install(con: duckdb.DuckDBPyConnection) -> None:
    """Define the ``safe_text`` macro on ``con`` (a temporary macro: allowed on read-only connections)."""
    con.execute(SAFE_TEXT_MACRO_SQL)


def safe_select(columns: dict[str, str], aliases: dict[str, str] | None = None) -> str:
    """A SELECT list that applies ``safe_text`` to every text column (``columns``: name → DuckDB type)."""
    aliases = aliases or {}
    parts = []
    for name, typ in columns.items():
        alias = aliases.get(name, name).replace('"', '""')
        if typ.upper() == "VARCHAR":
            parts.append(f'safe_text("{name}") AS "{alias}"')
        elif typ.upper().endswith("[]"):  # lists become one text cell
            parts.append(f"safe_text(array_to_string(\"{name}\", '|')) AS \"{alias}\"")
        else:
            parts.append(f'"{name}" AS "{alias}"')
    return ", ".join(parts)
