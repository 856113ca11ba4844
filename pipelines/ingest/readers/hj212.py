"""HJ 212-2017 packet logs: one packet a line (DOMAIN.md §5), one record per non-blank line.

The log is read once (read_text, split into lines in DuckDB). Framing, the length field and the CRC of
every packet are checked at once in numpy, straight from the Arrow buffer of the lines (``integrity``;
the CRC with the standard's table ``pipelines.hj212.CRC_TABLE``). The ``key=value`` pairs are parsed with
``regexp_extract`` on literal keys, in SQL over the whole file. A packet failing the frame, length or CRC
check is quarantined whole (its fields are not trusted, so no field rule is reported for it).
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from pipelines.contracts import Contract
from pipelines.hj212 import crc_spans
from pipelines.ingest.normalise import sql_str
from pipelines.ingest.readers import Extract
from pipelines.ingest.readers.encoding import is_binary
from pipelines.ingest.readers.errors import UnreadableFile

HEADER_FIELDS = {"qn": "QN", "st": "ST", "cn": "CN", "mn": "MN", "data_time": "DataTime"}
MAX_SEGMENT = 9999             # the largest length the 4-digit length field can state
PREFIX, SUFFIX = 6, 4          # `##` + 4 length digits before the data segment; 4 CRC digits after it


def _value(key: str) -> str:
    # A literal key lets RE2 find it with a substring search; keys do not occur inside one another.
    return f"nullif(regexp_extract(_seg, {sql_str(key + '=([^;,&]*)')}, 1), '')"


def _buffers(lines: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(offsets as int64, bytes) of a string/binary Arrow array, without copying the bytes."""
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.chunk(0) if lines.num_chunks == 1 else lines.combine_chunks()
    elif not isinstance(lines, pa.Array):
        lines = pa.array(lines)
    wide = pa.types.is_large_string(lines.type) or pa.types.is_large_binary(lines.type)
    n = len(lines)
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64 if wide else np.int32)
    offsets = offsets[lines.offset: lines.offset + n + 1].astype(np.int64)
    data = lines.buffers()[2]
    return offsets, (np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8))


def crc_segments(lines: pa.Array, buffers: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """HJ 212 CRC of each line's data segment (bytes 6 … len-4), -1 where the line is too short.
    The lines' bytes are used in place (Arrow offsets + data buffer)."""
    n = len(lines)
    out = np.full(n, -1, dtype=np.int32)
    if n == 0:
        return out
    offsets, data = buffers or _buffers(lines)
    if data.size == 0:
        return out
    ends = offsets[1:] - ((np.diff(offsets) > 0) & (data[np.maximum(offsets[1:] - 1, 0)] == 0x0D))
    lengths = ends - offsets[:-1] - PREFIX - SUFFIX
    # The length field has 4 digits (DOMAIN.md §5: `##` + 4-digit data-segment length): a longer segment
    # cannot be a packet, and its CRC (a loop over byte positions) is not worth minutes on a 5 MB line.
    valid = np.flatnonzero((lengths >= 0) & (lengths <= MAX_SEGMENT))
    if valid.size == 0:
        return out
    out[valid] = crc_spans(data, offsets[:-1][valid] + PREFIX, lengths[valid])
    return out


def integrity(lines: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frame_ok, length_ok, crc_ok) of each packet line, vectorised over the Arrow buffer.

    Frame: ``##`` + 4 digits + printable ASCII ending in ``&&`` + 4 hex digits (a truncated packet fails).
    Length: the 4 digits equal the data segment's byte length. CRC: HJ 212-2017 over the data segment."""
    n = len(lines)
    offsets, data = _buffers(lines)
    if data.size == 0:
        data = np.zeros(1, np.uint8)
    start, end = offsets[:-1], offsets[1:].copy()
    # A CRLF log leaves the CR at the end of each line: not part of the packet.
    has_cr = (end > start) & (data[np.maximum(end - 1, 0)] == 0x0D)
    end -= has_cr
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
        line = (np.searchsorted(offsets, unprintable, side="right") - 1).clip(0, n - 1)
        frame[np.unique(line[unprintable < end[line]])] = False
    length_ok = frame & (size - PREFIX - SUFFIX == length_field)
    crc = crc_segments(lines, (offsets, data))
    crc_ok = frame & (crc == sent)
    return frame, length_ok, crc_ok


def read(con: duckdb.DuckDBPyConnection, contract: Contract, path: Path, workdir: Path,
         name: str = "_ingest_src") -> Extract:
    _, [one] = read_many(con, contract, [path], workdir, name)
    if isinstance(one, UnreadableFile):
        raise one
    return one


def read_many(con: duckdb.DuckDBPyConnection, contract: Contract, paths: list[Path], workdir: Path,
              name: str = "_ingest_src") -> tuple[Extract | None, list[Extract | UnreadableFile]]:
    """Read many logs in one pass (one read_text, one integrity pass, one parse): returns the group
    (one table for all files, file index in ``_k``) and, per path, its own view of it or why it cannot
    be read. Logs are many and small (a plant and a day or month each), so per-file statements would
    cost more than the data."""
    results: list[Extract | UnreadableFile] = []
    sources: dict[int, tuple[str, str]] = {}
    for i, path in enumerate(paths):
        with open(path, "rb") as fh:
            head = fh.read(65536)
        if is_binary(head):
            results.append(UnreadableFile("文件不是 HJ 212 文本日志（含二进制内容）",
                                          "not an HJ 212 text log (binary content)"))
            continue
        results.append(None)   # filled below
        sources[i] = (str(path), "ascii")
    if not sources:
        return None, results

    def load_lines() -> None:
        files = ", ".join(f"({i}, {sql_str(src)})" for i, (src, _) in sources.items())
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {name}_lines AS
            SELECT f._k, unnest(range(1, len(t.l) + 1)) AS _phys, unnest(t.l) AS line
            FROM (SELECT filename, string_split(content, chr(10)) AS l
                  FROM read_text([{', '.join(sql_str(src) for src, _ in sources.values())}])) t
            JOIN (VALUES {files}) f(_k, path) ON f.path = t.filename
        """)

    try:
        load_lines()
    except duckdb.InvalidInputException:
        # Some log is not UTF-8 (garbled bytes): read those one byte as one character, so that the bad
        # packets fail framing and the good ones keep their exact bytes.
        for i, (src, _) in list(sources.items()):
            data = Path(src).read_bytes()
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                copy = workdir / f"{name}_{i}.latin1.txt"
                copy.write_text(data.decode("latin-1"), encoding="utf-8")
                sources[i] = (str(copy), "ascii (garbled bytes)")
        load_lines()
    # Records are the non-blank lines. Blank lines are few (the one after the final line break): when
    # every blank line is trailing, a record's number is its line number (no sort).
    blank = "strlen(line) < 256 AND trim(line, ' ' || chr(9) || chr(13)) = ''"
    stats = {k: (total, blanks or []) for k, total, blanks in con.execute(
        f"SELECT _k, max(_phys), list(_phys ORDER BY _phys) FILTER (WHERE {blank}) FROM {name}_lines GROUP BY 1"
    ).fetchall()}
    interior = False
    for total, blanks in stats.values():
        trailing = 0
        while trailing < len(blanks) and blanks[-1 - trailing] == total - trailing:
            trailing += 1
        interior |= trailing < len(blanks)
    if interior:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT _k, row_number() OVER "
                    f"(PARTITION BY _k ORDER BY _phys) AS _source_row, _phys, rtrim(line, chr(13)) AS line "
                    f"FROM {name}_lines WHERE NOT ({blank})")
    else:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT _k, _phys AS _source_row, _phys, "
                    f"rtrim(line, chr(13)) AS line FROM {name}_lines WHERE NOT ({blank})")
    lines = con.execute(f"SELECT _k, _phys, line FROM {name}_lines").to_arrow_table()
    frame_ok, length_ok, crc_ok = integrity(lines.column(2))
    con.register(f"{name}_crc_arrow", pa.table({"_k": lines.column(0), "_phys": lines.column(1),
                                                "_frame_ok": frame_ok, "_len_ok": length_ok, "_crc_ok": crc_ok}))
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
            SELECT _k, s._source_row, _phys, s.line, c._frame_ok, c._len_ok, c._crc_ok,
                   substr(s.line, {PREFIX + 1}, length(s.line) - {PREFIX + SUFFIX}) AS _seg
            FROM {name} s JOIN {name}_crc c USING (_k, _phys)
        )
        SELECT _k, _source_row, _phys, line, _frame_ok, _len_ok, _crc_ok,
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
    common = dict(table=view, source_table=name, raw_columns=["line"], raw_headers=["packet"],
                  fields={col: col for col in columns}, headers={}, integrity=integrity_sql)
    group = Extract(**common, rows_read=sum(t - len(b) for t, b in stats.values()), file_column="_k",
                    temp_tables=[view, name, f"{name}_crc", f"{name}_lines"])
    for i, (_, encoding) in sources.items():
        total, blanks = stats.get(i, (0, []))
        results[i] = Extract(**common, rows_read=(total or 0) - len(blanks), encoding=encoding, where=f"_k = {i}",
                             file_index=i)
    return group, results
