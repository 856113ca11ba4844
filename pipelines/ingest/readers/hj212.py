"""HJ 212-2017 packet logs: one packet a line (DOMAIN.md §5), one record per non-blank line.

Framing and length are checked with DuckDB string functions over the whole file; the CRC of every data
segment is computed at once by ``pipelines.hj212.crc_many`` (numpy, one table lookup per byte column);
``key=value`` pairs are parsed with ``regexp_extract`` in the same statement. A packet failing the frame,
length or CRC check is quarantined whole (its fields are not trusted, so no field rule is reported for it).
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from pipelines.contracts import Contract
from pipelines.hj212 import crc_many
from pipelines.ingest.normalise import sql_str
from pipelines.ingest.readers import Extract
from pipelines.ingest.readers.errors import UnreadableFile

CRC_BATCH = 200_000
# `##` + 4-digit length + printable ASCII data segment (which always ends with the `CP=&&…&&` block)
# + 4 hex CRC: a truncated packet fails here.
FRAME_RE = r"##\d{4}[\x20-\x7E]*&&[0-9A-Fa-f]{4}"
HEADER_FIELDS = {"qn": "QN", "st": "ST", "cn": "CN", "mn": "MN"}


def _value(segment: str, key: str, separators: str = ";") -> str:
    return f"nullif(regexp_extract({segment}, '(?:^|[{separators}&])' || {sql_str(key)} || '=([^;,&]*)', 1), '')"


def _is_binary(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(64 * 1024)
    return b"\x00" in head or head.startswith(b"PK\x03\x04")


def read(con: duckdb.DuckDBPyConnection, contract: Contract, path: Path, workdir: Path,
         name: str = "_ingest_src") -> Extract:
    if _is_binary(path):
        raise UnreadableFile("文件不是 HJ 212 文本日志（含二进制内容）",
                             "not an HJ 212 text log (binary content)")
    source, encoding = path, "ascii"
    try:
        con.execute(f"SELECT count(*) FROM read_text({sql_str(str(path))})").fetchone()
    except duckdb.Error:
        # Garbled bytes: read them one byte = one character, so the bad packets fail framing and the
        # good ones keep their exact bytes.
        source = workdir / f"{name}.latin1.txt"
        source.write_text(path.read_bytes().decode("latin-1"), encoding="utf-8")
        encoding = "ascii (garbled bytes)"

    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {name}_lines AS
        SELECT unnest(range(1, len(l) + 1)) AS _phys, unnest(l) AS line
        FROM (SELECT string_split(content, chr(10)) AS l FROM read_text({sql_str(str(source))}))
    """)
    factors = contract.factors
    factor_cols = []
    for code, factor in factors.items():
        factor_cols.append(f"{_value('_cp', code + '-Avg', ';,')} AS {factor['name']}_avg")
        factor_cols.append(f"{_value('_cp', code + '-Flag', ';,')} AS {factor['name']}_flag")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {name} AS
        WITH lines AS (
            SELECT _phys, rtrim(line, chr(13)) AS line FROM {name}_lines
            WHERE trim(line, ' ' || chr(9) || chr(13)) <> ''
        ), framed AS (
            SELECT row_number() OVER (ORDER BY _phys) AS _source_row, _phys, line,
                   regexp_full_match(line, {sql_str(FRAME_RE)}) AS _frame_ok,
                   substr(line, 7, length(line) - 10) AS _seg
            FROM lines
        ), parsed AS (
            SELECT *, regexp_extract(_seg, 'CP=&&(.*)&&', 1) AS _cp FROM framed
        )
        SELECT _source_row, _phys, line, _frame_ok,
               _frame_ok AND strlen(_seg) = TRY_CAST(substr(line, 3, 4) AS INTEGER) AS _len_ok,
               CASE WHEN _frame_ok THEN ('0x' || right(line, 4))::INTEGER END AS _crc_sent,
               CASE WHEN _frame_ok THEN _seg END AS _seg,
               {', '.join(f"{_value('_seg', key)} AS {name}" for name, key in HEADER_FIELDS.items())},
               {_value('_cp', 'DataTime')} AS data_time,
               {', '.join(factor_cols)}
        FROM parsed ORDER BY _source_row
    """)
    con.execute(f"DROP TABLE {name}_lines")

    # CRC of every framed data segment, vectorised across packets (batches bound the memory).
    reader = con.execute(
        f"SELECT _source_row, _seg FROM {name} WHERE _frame_ok ORDER BY _source_row"
    ).to_arrow_reader(CRC_BATCH)
    rows, crcs = [], []
    for batch in reader:
        segments = batch.column(1).cast(pa.binary()).to_pylist()
        rows.append(batch.column(0).to_numpy())
        crcs.append(crc_many(segments).astype(np.int32))
    crc_table = pa.table({
        "_source_row": np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64),
        "_crc": np.concatenate(crcs) if crcs else np.zeros(0, dtype=np.int32),
    })
    con.register(f"{name}_crc_arrow", crc_table)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name}_crc AS SELECT * FROM {name}_crc_arrow")
    con.unregister(f"{name}_crc_arrow")

    view = f"{name}_data"
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW {view} AS
        SELECT s.*, coalesce(c._crc = s._crc_sent, false) AS _crc_ok
        FROM {name} s LEFT JOIN {name}_crc c USING (_source_row)
    """)
    integrity = """list_filter([
        CASE WHEN NOT _frame_ok THEN 'hj212_frame' END,
        CASE WHEN _frame_ok AND NOT _len_ok THEN 'hj212_length' END,
        CASE WHEN _frame_ok AND NOT _crc_ok THEN 'hj212_crc' END], x -> x IS NOT NULL)"""
    names = ["qn", "st", "cn", "mn", "data_time"] + [f"{f['name']}_{part}" for f in factors.values()
                                                      for part in ("avg", "flag")]
    rows_read = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
    return Extract(
        table=view, source_table=name, raw_columns=["line"], raw_headers=["packet"],
        fields={name: name for name in names}, headers={}, rows_read=rows_read, encoding=encoding,
        integrity=integrity, temp_tables=[view, f"{name}_crc", name, f"{name}_lines"],
    )
