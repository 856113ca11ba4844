"""CSV exports: encoding detected on a byte sample (GBK transcoded in bulk), then one read_csv of the
whole file as text (all_varchar, no type sniffing), framed by ``tabular``."""
from __future__ import annotations

import csv as pycsv
import io
from pathlib import Path

import duckdb

from pipelines.contracts import Contract
from pipelines.ingest.headers import HEADER_SEARCH_ROWS, find_header_row, map_headers
from pipelines.ingest.normalise import sql_str
from pipelines.ingest import boundary
from pipelines.ingest.readers import Extract, encoding as enc, tabular
from pipelines.ingest.readers.errors import UnreadableFile, first_line

DELIMITERS = (",", "\t", ";", "|")
DEFAULT_MAX_LINE = 2 * 1024 * 1024
# The header sniff reads at most the byte sample, so no field of it can be longer: Python's csv module
# otherwise stops at 131,072 characters (a 200 KB cell raised _csv.Error outside the reject path).
pycsv.field_size_limit(max(pycsv.field_size_limit(), 4 * enc.SAMPLE_BYTES))


def _shape(sample: str, contract: Contract) -> tuple[str, int]:
    """Delimiter (the one under which a header row names most contract columns) and the widest row of
    the sample."""
    lines = sample.splitlines()[:200]
    best = (",", -1, 0)
    for delim in DELIMITERS:
        rows = list(pycsv.reader(io.StringIO("\n".join(lines)), delimiter=delim))
        rows = [r for r in rows if any(cell.strip() for cell in r)]
        index = find_header_row(contract, rows[:HEADER_SEARCH_ROWS])
        matched = len(map_headers(contract, rows[index]).positions) if index is not None else 0
        width = max((len(r) for r in rows), default=1)
        if matched > best[1]:
            best = (delim, matched, width)
        if delim == "," and index is not None and matched >= max(2, len(rows[index]) // 2):
            break             # a comma file whose header names its columns: no need to try the others
    return best[0], max(best[2], 1)


def read(con: duckdb.DuckDBPyConnection, contract: Contract, path: Path, workdir: Path,
         name: str = "_ingest_src") -> Extract:
    encoding = enc.detect(path, contract.encodings)
    source = path
    if encoding.needs_transcoding:
        source = enc.transcode(path, encoding, workdir / f"{name}.utf8.csv")
    with open(source, "rb") as fh:
        sample = fh.read(enc.SAMPLE_BYTES).decode("utf-8", errors="ignore")
    try:
        delim, width = _shape(sample, contract)
    except pycsv.Error as exc:
        raise UnreadableFile("CSV 表头部分无法解析", f"cannot parse the head of the CSV: {exc}") from exc
    # The line ending, stated: a cell with a line break inside quotes (Excel writes LF there, CRLF between
    # rows) otherwise derails the parser's newline detection.
    newline = "\\r\\n" if "\r\n" in sample else ("\\r" if "\r" in sample and "\n" not in sample else "\\n")

    limit = int(boundary.limit(contract, "max_line_bytes"))
    # DuckDB's read buffer is 16 lines of max_line_size (a 32 MiB limit held 512 MiB per read): try DuckDB's own
    # 2 MiB first, and the contract's limit only for a file with a longer line.
    max_line = min(limit, DEFAULT_MAX_LINE)
    # Extra columns absorb rows wider than the sample; all-empty extras are dropped by tabular.frame.
    attempt = 0
    parallel = ""
    while attempt < 3:
        ncols = width + 8 if attempt == 0 else (width + 8) * 4 ** attempt
        columns = [f"c{i}" for i in range(ncols)]
        spec = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in columns) + "}"
        try:
            con.execute(f"""
                CREATE OR REPLACE TEMP TABLE {name} AS
                SELECT * FROM read_csv({sql_str(str(source))}, header = false, auto_detect = false,
                    delim = {sql_str(delim)}, quote = '"', escape = '"', columns = {spec},
                    null_padding = true, max_line_size = {int(max_line)}, new_line = {sql_str(newline)}{parallel})
            """)
            break
        except duckdb.Error as exc:
            text = str(exc)
            attempt += 1
            if "parallel=false" in text and not parallel:
                # DuckDB's parallel scanner refuses null padding with a line break inside quotes (a header
                # cell `总磷\n(mg/L)` in a file large enough to be split): read it in one thread.
                parallel, attempt = ", parallel = false", attempt - 1
                continue
            if "Expected Number of Columns" in text and attempt < 3:
                continue
            if newline != "\\n" and ("invalid state" in text or "new_line" in text.lower()):
                # Mixed line endings: a CRLF export with a bare LF added by a hand edit. Read a copy with
                # every CRLF made LF (a CRLF inside a quoted cell becomes the LF Excel writes there anyway).
                copy = workdir / f"{name}.lf.csv"
                copy.write_bytes(Path(source).read_bytes().replace(b"\r\n", b"\n"))
                source, newline, attempt = copy, "\\n", 0
                continue
            if "maximum line size" in text.lower() and max_line < limit:
                max_line, attempt = limit, attempt - 1
                continue
            if "maximum line size" in text.lower():
                raise UnreadableFile(f"CSV 中有超长的行（上限 {max_line} 字节）",
                                     f"a line of the CSV is longer than the limit ({max_line} bytes)") from exc
            if "unicode" in text.lower():
                raise UnreadableFile("文件中有无效的UTF-8字节（编码混杂）",
                                     f"invalid UTF-8 bytes in the file (mixed encodings): {first_line(exc)}") from exc
            raise UnreadableFile("CSV 结构无法解析", f"cannot parse the CSV: {first_line(exc)}") from exc
    return tabular.frame(con, contract, name, columns, encoding=encoding.label)
