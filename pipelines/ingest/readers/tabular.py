"""What CSV and spreadsheet exports share: a sheet of text cells with title rows above the header,
blank rows among the data and a remarks/signature row below it (remarks: the trailing rows whose first
filled cell starts with a remark word). A trailing row holding a single cell is a record like any other
unless its text is a remark: a lone key value must be counted (and quarantined), never dropped.

The sheet is read whole into a temp table (one row per sheet row, in file order, ``rowid`` = order);
this module finds the header among the first rows, and defines the data records as a view: rows after
the header that are neither blank nor part of the trailing remarks, numbered 1, 2, … (``_source_row``).
"""
from __future__ import annotations

import re

import duckdb

from pipelines.contracts import Contract
from pipelines.ingest.headers import HEADER_SEARCH_ROWS, find_header_row, map_headers, missing_columns, missing_message
from pipelines.ingest.normalise import sql_str
from pipelines.ingest.readers import Extract
from pipelines.ingest.readers.errors import UnreadableFile

# First words of the rows bureaus put under a table: remarks, signatures, "data as of".
REMARKS_RE = (r"^\s*(备注|说明|注[:：]|注\s*[0-9一二三]|填报人|填表人|填报单位|填报日期|填报[:：]|制表|审核|复核|负责人|"
              r"单位负责人|联系人|联系电话|电话[:：]|日期[:：]|签字|签名|盖章|统计人|数据截[至止]|数据来源[:：]|以上)")
# A signature line under a table: an office, then the date it signed (市建设局城建处    2024年12月). One cell only;
# a lone key value (DP-331002-00003) is never one.
SIGNATURE_RE = (r"^\s*\S{2,40}(局|处|科|室|办|委|站|所|中心|公司|政府|管委会|办公室)[\s\u3000]+"
                r"\d{4}\s*年(\s*\d{1,2}\s*月(\s*\d{1,2}\s*日)?)?\s*$")
# What makes a cell look blank, one list for Python and SQL (a plain literal: a chr() concatenation is
# re-planned for every column and cost milliseconds per statement).
BLANK = " \t\n\r\x0c\u3000\u00a0"
BLANK_CHARS = sql_str(BLANK)
TAIL_ROWS = 50
SMALL_SHEET_ROWS = 500
MAX_INLINE_BLANKS = 64


def _text(value) -> str:
    """A cell's text without the whitespace that makes a cell look blank (as ``_blank`` in SQL)."""
    return "" if value is None else str(value).strip(BLANK)


def _blank(col: str) -> str:
    return f"coalesce(trim({col}, {BLANK_CHARS}), '') = ''"


def frame(con: duckdb.DuckDBPyConnection, contract: Contract, source_table: str, columns: list[str],
          *, encoding: str | None = None) -> Extract:
    """Find the header of a sheet already in ``source_table`` and define its data records."""
    # A sheet of a few hundred rows is fetched whole in one statement and framed in Python: each SQL
    # statement costs a few milliseconds of planning, more than a loop over such a sheet (measured: 40
    # rows 2 ms in Python, 8 ms in SQL), and most files of the daily feeds are that small. A larger sheet
    # is framed with two aggregate queries (column fill and blank rows, the last rows); its cells never
    # pass through Python.
    head = con.execute(f"SELECT rowid, {', '.join(columns)} FROM {source_table} ORDER BY rowid "
                       f"LIMIT {SMALL_SHEET_ROWS + 1}").fetchall()
    small = len(head) <= SMALL_SHEET_ROWS
    top = head[:HEADER_SEARCH_ROWS]
    header_index = find_header_row(contract, [list(r[1:]) for r in top])
    if header_index is None:
        expected = "、".join(c.header for c in contract.columns if c.required and c.type != "geometry")
        raise UnreadableFile(
            f"前{HEADER_SEARCH_ROWS}行中找不到表头（应含如：{expected}）",
            f"no header row among the first {HEADER_SEARCH_ROWS} rows (expected headers such as {expected})")
    header_rowid = top[header_index][0]
    header_cells = [None if v is None else str(v).strip() for v in top[header_index][1:]]
    mapping = map_headers(contract, header_cells)
    fatal, absent = missing_columns(contract, mapping)
    if fatal:
        raise UnreadableFile(*missing_message(fatal, header_cells))

    # A row is blank when the concatenation of its cells is: one trim a row, not one a cell.
    blank_sql = f"coalesce(trim(concat({', '.join(columns)}), {BLANK_CHARS}), '') = ''"
    if small:
        body = [r for r in head if r[0] > header_rowid]
        counts = [sum(1 for r in body if _text(r[i + 1])) for i in range(len(columns))]
        blanks = [r[0] for r in body if not any(_text(v) for v in r[1:])]
        tail = [r for r in reversed(body) if any(_text(v) for v in r[1:])][:TAIL_ROWS]
    else:
        # Whether a column holds data matters only where it has no header (kept as 列N, or dropped): the
        # per-cell test runs for those columns alone (the padding columns, all NULL, cost next to nothing).
        unnamed = [i for i, c in enumerate(columns) if not (i < len(header_cells) and header_cells[i])]
        filled = "".join(f", count(*) FILTER (WHERE NOT {_blank(columns[i])})" for i in unnamed)
        last_rowid, blanks, *unnamed_counts = con.execute(
            f"SELECT max(rowid), list(rowid ORDER BY rowid) FILTER (WHERE {blank_sql}){filled} "
            f"FROM {source_table} WHERE rowid > {header_rowid}").fetchone()
        counts = [1] * len(columns)
        for i, n in zip(unnamed, unnamed_counts):
            counts[i] = n
        blanks = blanks or []
        # The last non-blank rows, found from the blank rows' positions: a range the zone maps answer,
        # not a sort of the whole sheet.
        low, skipped = (last_rowid or header_rowid) + 1, set(blanks)
        wanted = 0
        while low > header_rowid + 1 and wanted < TAIL_ROWS:
            low -= 1
            wanted += low not in skipped
        tail = con.execute(
            f"SELECT rowid, {', '.join(columns)} FROM {source_table} WHERE rowid >= {low} "
            f"AND NOT ({blank_sql}) ORDER BY rowid DESC LIMIT {TAIL_ROWS}").fetchall()

    # Keep the columns that have a header or hold any data: raw_values then shows what was sent.
    raw_columns, raw_headers, used = [], [], set()
    for i, col in enumerate(columns):
        text = header_cells[i] if i < len(header_cells) else None
        if not text and not counts[i]:
            continue
        name = text or f"列{i + 1}"
        while name in used:                       # two columns under one header keep both values
            name = f"{name}#{i + 1}"
        used.add(name)
        raw_columns.append(col)
        raw_headers.append(name)

    # The remarks sit below the data: look only at the last non-blank rows, from the bottom up. Only a
    # row whose text reads as a remark is skipped; anything else is the last record.
    last_data = header_rowid
    remarks = 0
    for rowid, *cells in tail:
        nonempty = [_text(c) for c in cells if _text(c)]
        if nonempty and (re.match(REMARKS_RE, nonempty[0])
                         or (len(nonempty) == 1 and re.match(SIGNATURE_RE, nonempty[0]))):
            remarks += 1
            continue
        last_data = rowid
        break
    else:
        if len(tail) == TAIL_ROWS:
            # Fifty remark-like rows: stop there rather than lose the rows above them.
            last_data = tail[-1][0] - 1
    blanks = [b for b in blanks if b <= last_data]

    view = f"{source_table}_data"
    cells = ", ".join(raw_columns) or "NULL AS _none"
    if len(blanks) <= MAX_INLINE_BLANKS:
        # Record number = sheet row - header row - blank rows above it (no sort, no copy).
        shift = " + ".join(f"(rowid > {b})::BIGINT" for b in blanks) or "0"
        skip = f"AND rowid NOT IN ({', '.join(map(str, blanks))})" if blanks else ""
        con.execute(f"""
            CREATE OR REPLACE TEMP VIEW {view} AS
            SELECT rowid - {header_rowid} - ({shift}) AS _source_row, rowid AS _phys, {cells}
            FROM {source_table} WHERE rowid > {header_rowid} AND rowid <= {last_data} {skip}
        """)
    else:
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {view}_t AS
            SELECT row_number() OVER (ORDER BY rowid) AS _source_row, rowid AS _phys, {cells}
            FROM {source_table} WHERE rowid > {header_rowid} AND rowid <= {last_data} AND NOT ({blank_sql})
        """)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT * FROM {view}_t")
    rows_read = last_data - header_rowid - len(blanks)
    rows_blank = len(blanks)
    return Extract(
        table=view, source_table=source_table, raw_columns=raw_columns, raw_headers=raw_headers,
        fields={name: columns[pos] for name, pos in mapping.positions.items()},
        headers=dict(mapping.headers), rows_read=rows_read, rows_blank=rows_blank, rows_remarks=remarks,
        header_row=header_index + 1, encoding=encoding,
        temp_tables=[view, f"{view}_t", source_table],
        header_variants=dict(mapping.variants), missing_columns=[c.name for c in absent],
        unmatched_headers=[h for i, h in mapping.unmatched if i < len(columns) and (counts[i] or h)],
    )
