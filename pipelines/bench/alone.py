"""DuckDB alone: the limit of the machine. Each file read into a table with its natural reader and no checks
(read_csv with auto-detection, read_xlsx over the used range, ST_Read, and for HJ 212 logs the packet lines with
their key=value fields extracted: reading a packet log into a table means reading its fields).

Moved here from ``tests/integration/test_ingest_speed.py`` (issue 3) so the benchmark command and the slow test
measure the same thing.
"""
from __future__ import annotations

import tempfile
import time
import zipfile
from pathlib import Path

from pipelines import duck
from pipelines.bench.measure import cpu_now
from pipelines.contracts import load_contracts
from pipelines.ingest.normalise import sql_ident, sql_str
from pipelines.ingest.readers.xlsx import _col_letters, used_range


def hj212_select(contract, with_fields: bool) -> str:
    lines = "SELECT unnest(range(1, len(l) + 1)) AS n, unnest(l) AS line FROM " \
            "(SELECT string_split(content, chr(10)) AS l FROM read_text({path}))"
    if not with_fields:
        return lines
    keys = ["QN", "ST", "CN", "MN", "DataTime"] + [f"{code}-{part}" for code in contract.factors
                                                   for part in ("Avg", "Flag")]
    fields = ", ".join(f"regexp_extract(line, {sql_str(k + '=([^;,&]*)')}, 1) AS {sql_ident(k)}" for k in keys)
    return f"SELECT n, {fields} FROM ({lines})"


def select_for(contract, path: Path, hj212_fields: bool = True) -> str:
    source, suffix = str(path), path.suffix.lower()
    if suffix == ".csv":
        raw = path.read_bytes()
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:            # DuckDB reads UTF-8 only: the GBK files need a copy
            copy = Path(tempfile.gettempdir()) / f"bench_gbk_{path.stem}.csv"
            copy.write_text(raw.decode("gb18030"), encoding="utf-8")
            source = str(copy)
        # the line ending stated, as the loader does: a header cell with a line break inside quotes
        # (the sample's header variants) defeats the dialect sniffer otherwise
        with open(source, "rb") as fh:
            crlf = b"\r\n" in fh.read(65536)
        newline = f", new_line = {sql_str(chr(92) + 'r' + chr(92) + 'n')}" if crlf else ""
        return f"SELECT * FROM read_csv({sql_str(source)}{newline})"
    if suffix == ".xlsx":
        sheet, rows, cols = used_range(path)
        return (f"SELECT * FROM read_xlsx({sql_str(source)}, header = false, all_varchar = true, "
                f"stop_at_empty = false, range = 'A1:{_col_letters(cols)}{rows}')")
    if suffix == ".zip":
        layer = next(n for n in zipfile.ZipFile(path).namelist() if n.lower().endswith(".shp"))
        return f"SELECT * FROM ST_Read({sql_str(f'/vsizip/{source}/{layer}')})"
    if suffix in (".geojson", ".json"):
        return f"SELECT * FROM ST_Read({sql_str(source)})"
    return hj212_select(contract, hj212_fields).format(path=sql_str(source))


def duckdb_alone(files: list[Path], feed: str, db: Path, hj212_fields: bool = True) -> dict:
    """Read ``files`` of ``feed`` into tables of a fresh database file; seconds and rows."""
    contract = load_contracts()[feed]
    db.unlink(missing_ok=True)
    con = duck.connect(db)
    rows = 0
    started, cpu = time.perf_counter(), cpu_now()
    try:
        for i, path in enumerate(sorted(files)):
            con.execute(f"CREATE TABLE t{i} AS {select_for(contract, path, hj212_fields)}")
            rows += con.execute(f"SELECT count(*) FROM t{i}").fetchone()[0]
    finally:
        con.close()
    return {"seconds": time.perf_counter() - started, "cpu": cpu_now() - cpu, "rows": rows}
