"""Spreadsheet exports (.xlsx): one read_xlsx of the first sheet as text over its whole used range
(header=false, all_varchar, stop_at_empty=false, explicit range), so that the merged title row, blank rows
and the remarks row are seen and framed by ``tabular``.

The used range comes from the sheet's ``<dimension>`` element, read straight from the zip without parsing
the sheet; without it (some writers omit it) the last ``<row r=…>`` and widest cell reference are found by a
streaming scan of the sheet XML.
"""
from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path

import duckdb

from pipelines.contracts import Contract
from pipelines.ingest import boundary
from pipelines.ingest.normalise import sql_ident, sql_str
from pipelines.ingest.readers import Extract, tabular
from pipelines.ingest.readers.errors import UnreadableFile, first_line

_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n


def _col_letters(n: int) -> str:
    out = ""
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def _first_sheet(zf: zipfile.ZipFile) -> tuple[str, str]:
    workbook = zf.read("xl/workbook.xml").decode("utf-8", errors="replace")
    sheet = re.search(r"<(?:\w+:)?sheet\b[^>]*>", workbook)
    if not sheet:
        raise UnreadableFile("工作簿中没有工作表", "the workbook has no sheet")
    name = re.search(r'\bname="([^"]*)"', sheet.group(0))
    rid = re.search(r'\br:id="([^"]*)"', sheet.group(0)) or re.search(r'\bid="([^"]*)"', sheet.group(0))
    target = "xl/worksheets/sheet1.xml"
    if rid:
        rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8", errors="replace")
        for rel in re.finditer(r"<Relationship\b[^>]*>", rels):
            if f'Id="{rid.group(1)}"' in rel.group(0):
                t = re.search(r'Target="([^"]*)"', rel.group(0)).group(1)
                target = t.lstrip("/") if t.startswith("/") else posixpath.normpath(posixpath.join("xl", t))
                break
    return (name.group(1) if name else "Sheet1"), target


def used_range(path: Path) -> tuple[str, int, int]:
    """(sheet name, last row, last column number) of the first sheet."""
    try:
        with zipfile.ZipFile(path) as zf:
            sheet, target = _first_sheet(zf)
            with zf.open(target) as fh:
                head = fh.read(64 * 1024).decode("utf-8", errors="replace")
            dim = re.search(r'<(?:\w+:)?dimension\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"', head)
            if dim and dim.group(3):
                return sheet, int(dim.group(4)), _col_number(dim.group(3))
            last_row, last_col = 1, 1
            with zf.open(target) as fh:
                tail = b""
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    text = (tail + chunk).decode("utf-8", errors="ignore")
                    for m in re.finditer(r'<(?:\w+:)?c\s+r="([A-Z]+)(\d+)"', text):
                        last_col = max(last_col, _col_number(m.group(1)))
                        last_row = max(last_row, int(m.group(2)))
                    tail = chunk[-256:]
            return sheet, last_row, last_col
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, KeyError, OSError, UnicodeError) as exc:
        raise UnreadableFile("xlsx 文件已损坏或不完整（无法解压）",
                             f"the .xlsx is corrupt or truncated (not a readable zip): {exc}") from exc


def read(con: duckdb.DuckDBPyConnection, contract: Contract, path: Path, workdir: Path,
         name: str = "_ingest_src") -> Extract:
    sheet, last_row, last_col = used_range(path)
    # DuckDB allocates the requested range densely: a sheet claiming XFD1048576 (one cell, 6 KB) asks for
    # 17 billion cells. Refused here, from the range alone, before DuckDB reads a byte.
    cap = boundary.limit(contract, "max_cells")
    if last_row * last_col > cap:
        raise UnreadableFile(
            f"工作表范围过大（{last_row} 行 × {last_col} 列 = {last_row * last_col} 个单元格，上限 {cap}），未读取："
            "请删除表格外的空白单元格或分表报送",
            f"the sheet's used range is too large ({last_row} rows × {last_col} columns = {last_row * last_col} "
            f"cells; limit {cap}); not read: clear stray cells outside the table or split the sheet")
    letters = [_col_letters(i) for i in range(1, last_col + 1)]
    columns = [f"c{i}" for i in range(last_col)]
    try:
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {name} AS
            SELECT {', '.join(f"{sql_ident(letter)} AS {c}" for letter, c in zip(letters, columns))}
            FROM read_xlsx({sql_str(str(path))}, sheet = {sql_str(sheet)}, header = false, all_varchar = true,
                           stop_at_empty = false, range = 'A1:{letters[-1]}{last_row}')
        """)
    except duckdb.Error as exc:
        raise UnreadableFile("xlsx 文件无法读取", f"cannot read the .xlsx: {first_line(exc)}") from exc
    return tabular.frame(con, contract, name, columns)
