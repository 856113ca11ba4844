"""HJ 212-2017 packet logs: one packet a line (DOMAIN.md §5), one record per non-blank line.

The log is read once (read_text, split into lines in DuckDB). Framing, the length field and the CRC of
every packet are checked at once in numpy, straight from the Arrow buffer of the lines (``integrity``;
the CRC with the standard's table ``pipelines.hj212.CRC_TABLE``). The ``key=value`` pairs are parsed with
``regexp_extract`` on literal keys, in SQL over the whole file. A packet failing the frame, length or CRC check is quarantined whole (its fields are not trusted,
so no field rule is reported for it).
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from pipelines.contracts import Contract
from pipelines.hj212 import CRC_TABLE
from pipelines.ingest.normalise import sql_str
from pipelines.ingest.readers import Extract
from pipelines.ingest.readers.errors import UnreadableFile

HEADER_FIELDS = {"qn": "QN", "st": "ST", "cn": "CN", "mn": "MN", "data_time": "DataTime"}
PREFIX, SUFFIX = 6, 4          # `##` + 4 length digits before the data segment; 4 CRC digits after it
MAX_INLINE_BLANKS = 64


def _value(key: str) -> str:
    # A literal key lets RE2 find it with a substring search; keys do not occur inside one another.
    return f"nullif(regexp_extract(_seg, {sql_str(key + '=([^;,&]*)')}, 1), '')"


def crc_segments(lines: pa.Array) -> np.ndarray:
    """HJ 212 CRC of each line's data segment (bytes 6 … len-4), -1 where the line is too short.

    The lines' bytes are used in place (Arrow offsets + data buffer). Lines are ordered by segment
    length, longest first, so that at byte position j the lines still running are a prefix: each step
    is one table lookup over a contiguous slice, with no masks and no padding copy."""
    lines = pa.array(lines).cast(pa.large_binary())
    n = len(lines)
    out = np.full(n, -1, dtype=np.int32)
    if n == 0:
        return out
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset: lines.offset + n + 1]
    data = np.frombuffer(lines.buffers()[2], dtype=np.uint8) if lines.buffers()[2] else np.zeros(0, np.uint8)
    lengths = np.diff(offsets) - PREFIX - SUFFIX
    valid = np.flatnonzero(lengths >= 0)
    if valid.size == 0:
        return out
    order = valid[np.argsort(-lengths[valid], kind="stable")]
    starts = offsets[:-1][order] + PREFIX
    seg_len = lengths[order]
    running = np.searchsorted(-seg_len, -np.arange(int(seg_len[0])), side="left")  # lines longer than j
    crc = np.full(order.size, 0xFFFF, dtype=np.uint16)
    table = CRC_TABLE.astype(np.uint16)
    for j in range(int(seg_len[0])):
        k = int(running[j])
        crc[:k] = table[(crc[:k] >> 8) ^ data[starts[:k] + j]]
    out[order] = crc
    return out


def integrity(lines: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frame_ok, length_ok, crc_ok) of each packet line, vectorised over the Arrow buffer.

    Frame: ``##`` + 4 digits + printable ASCII ending in ``&&`` + 4 hex digits (a truncated packet fails).
    Length: the 4 digits equal the data segment's byte length. CRC: HJ 212-2017 over the data segment."""
    lines = pa.array(lines).cast(pa.large_binary())
    n = len(lines)
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset: lines.offset + n + 1]
    data = np.frombuffer(lines.buffers()[2], dtype=np.uint8) if n and lines.buffers()[2] else np.zeros(1, np.uint8)
    start, end = offsets[:-1], offsets[1:]
    size = end - start
    frame = size >= PREFIX + 2 + SUFFIX
    s, e = np.where(frame, start, 0), np.where(frame, end, PREFIX + 2 + SUFFIX)   # safe indexes
    if data.size < PREFIX + 2 + SUFFIX:
        data = np.concatenate([data, np.zeros(PREFIX + 2 + SUFFIX, np.uint8)])

    def byte(at):
        return data[at]

    digit = lambda b: (b >= 0x30) & (b <= 0x39)                                        # noqa: E731
    hexa = lambda b: digit(b) | ((b | 0x20) >= 0x61) & ((b | 0x20) <= 0x66)             # noqa: E731
    frame &= (byte(s) == 0x23) & (byte(s + 1) == 0x23)
    length_field = np.zeros(n, dtype=np.int64)
    for i in range(2, 6):
        b = byte(s + i)
        frame &= digit(b)
        length_field = length_field * 10 + (b.astype(np.int64) - 0x30)
    frame &= (byte(e - 6) == 0x26) & (byte(e - 5) == 0x26)
    sent = np.zeros(n, dtype=np.int64)
    for i in range(4, 0, -1):
        b = byte(e - i)
        frame &= hexa(b)
        sent = sent * 16 + np.where(digit(b), b.astype(np.int64) - 0x30, (b.astype(np.int64) | 0x20) - 0x61 + 10)
    # Unprintable bytes are rare: find them, then the lines they sit in.
    used = data[offsets[0]: offsets[-1]]
    unprintable = np.flatnonzero((used < 0x20) | (used > 0x7E)) + offsets[0]
    if unprintable.size:
        frame[np.unique(np.searchsorted(offsets, unprintable, side="right") - 1).clip(0, n - 1)] = False
    length_ok = frame & (size - PREFIX - SUFFIX == length_field)
    crc = crc_segments(lines)
    crc_ok = frame & (crc == sent)
    return frame, length_ok, crc_ok


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
    lines_sql = ("CREATE OR REPLACE TEMP TABLE {name}_lines AS "
                 "SELECT unnest(range(1, len(l) + 1)) AS _phys, unnest(l) AS line "
                 "FROM (SELECT string_split(content, chr(10)) AS l FROM read_text({path}))")
    try:
        con.execute(lines_sql.format(name=name, path=sql_str(str(path))))
    except duckdb.InvalidInputException:
        # Not UTF-8 (garbled bytes): read one byte as one character, so that the bad packets fail framing
        # and the good ones keep their exact bytes.
        source = workdir / f"{name}.latin1.txt"
        source.write_text(path.read_bytes().decode("latin-1"), encoding="utf-8")
        encoding = "ascii (garbled bytes)"
        con.execute(lines_sql.format(name=name, path=sql_str(str(source))))
    # Records are the non-blank lines, numbered by their line number less the blank lines above (no
    # sort). Blank lines are few: the one after the final line break, a stray one.
    blank = "strlen(line) < 256 AND trim(line, ' ' || chr(9) || chr(13)) = ''"
    blanks = con.execute(f"SELECT list(_phys ORDER BY _phys) FROM {name}_lines WHERE {blank}").fetchone()[0] or []
    if len(blanks) <= MAX_INLINE_BLANKS:
        shift = " + ".join(f"(_phys > {b})::BIGINT" for b in blanks) or "0"
        skip = f"WHERE _phys NOT IN ({', '.join(map(str, blanks))})" if blanks else ""
        numbered = f"SELECT _phys - ({shift}) AS _source_row, _phys, line FROM {name}_lines {skip}"
    else:
        numbered = (f"SELECT row_number() OVER (ORDER BY _phys) AS _source_row, _phys, line "
                    f"FROM {name}_lines WHERE NOT ({blank})")
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS "
                f"SELECT _source_row, _phys, rtrim(line, chr(13)) AS line FROM ({numbered})")
    lines = con.execute(f"SELECT _phys, line FROM {name}").to_arrow_table()
    frame_ok, length_ok, crc_ok = integrity(lines.column(1).combine_chunks())
    con.register(f"{name}_crc_arrow", pa.table({"_phys": lines.column(0), "_frame_ok": frame_ok,
                                                "_len_ok": length_ok, "_crc_ok": crc_ok}))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name}_crc AS SELECT * FROM {name}_crc_arrow")
    con.unregister(f"{name}_crc_arrow")

    factor_cols = []
    for code, factor in contract.factors.items():
        factor_cols.append(f"{_value(code + '-Avg')} AS {factor['name']}_avg")
        factor_cols.append(f"{_value(code + '-Flag')} AS {factor['name']}_flag")
    view = f"{name}_data"
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW {view} AS
        WITH framed AS (
            SELECT s._source_row, _phys, s.line, c._frame_ok, c._len_ok, c._crc_ok,
                   substr(s.line, {PREFIX + 1}, length(s.line) - {PREFIX + SUFFIX}) AS _seg
            FROM {name} s JOIN {name}_crc c USING (_phys)
        )
        SELECT _source_row, _phys, line, _frame_ok, _len_ok, _crc_ok,
               {', '.join(f"{_value(key)} AS {col}" for col, key in HEADER_FIELDS.items())},
               {', '.join(factor_cols)}
        FROM framed
    """)
    integrity_sql = """CASE WHEN _frame_ok AND _len_ok AND _crc_ok THEN []::VARCHAR[]
        WHEN NOT _frame_ok THEN ['hj212_frame']
        WHEN NOT _len_ok AND NOT _crc_ok THEN ['hj212_length', 'hj212_crc']
        WHEN NOT _len_ok THEN ['hj212_length'] ELSE ['hj212_crc'] END"""
    columns = list(HEADER_FIELDS) + [f"{f['name']}_{part}" for f in contract.factors.values()
                                     for part in ("avg", "flag")]
    return Extract(
        table=view, source_table=name, raw_columns=["line"], raw_headers=["packet"],
        fields={col: col for col in columns}, headers={}, rows_read=len(lines), encoding=encoding,
        integrity=integrity_sql, temp_tables=[view, name, f"{name}_crc", f"{name}_lines"],
    )
