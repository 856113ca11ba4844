"""HJ 212-2017 packet logs: one packet a line (DOMAIN.md §5), one record per non-blank line.

The log is streamed in blocks of whole lines (``BLOCK_BYTES``; a block ends at a line feed), never held whole.
Per block, in numpy over the block's bytes: the line boundaries and file line numbers, the blank lines (not
records), framing, the length field and the CRC of every packet (``integrity``; the CRC with the standard's
table ``pipelines.hj212.CRC_TABLE``), and the ``key=value`` fields in one tokenising pass (``field_spans``:
the separators ``;`` ``,`` ``&`` and ``=`` found once, each field's key matched against the contract's keys as
a packed 16-byte word). Each block then goes into one DuckDB temp table (the packet text, the integrity flags,
and each field's span in the packet), so DuckDB's memory can be bounded and it spills what it must.

A field's value is the text after the first ``KEY=`` in the data segment up to the next ``;``, ``,`` or ``&``
(what ``regexp_extract(seg, 'KEY=([^;,&]*)', 1)`` finds). Where a packet could make the two readings differ
(a piece with two ``=``, or a key ending in a contract key, e.g. ``XQN=``), the packet is marked ``_odd`` and
its fields are extracted with that regex in SQL: rare, and exact. A packet failing the frame, length or CRC
check is quarantined whole (its fields are not trusted, so no field rule is reported for it, and none is parsed).
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Iterator

import duckdb
import numpy as np
import pyarrow as pa

from pipelines.contracts import Contract
from pipelines.hj212 import crc_spans
from pipelines.ingest.normalise import sql_ident, sql_str
from pipelines.ingest.readers import Extract
from pipelines.ingest.readers.encoding import is_binary
from pipelines.ingest.readers.errors import UnreadableFile

HEADER_FIELDS = {"qn": "QN", "st": "ST", "cn": "CN", "mn": "MN", "data_time": "DataTime"}
MAX_SEGMENT = 9999             # the largest length the 4-digit length field can state
PREFIX, SUFFIX = 6, 4          # `##` + 4 length digits before the data segment; 4 CRC digits after it
BLOCK_BYTES = 1024 * 1024      # a block of whole lines (a longer line is one block of its own); measured:
                               # 1 MiB costs less CPU than 8 MiB (cache) and ~150 MB less memory
BLANK_MAX = 256                # a line of spaces/tabs/CRs shorter than this is blank (not a record)
_WS = np.zeros(256, dtype=bool)
_WS[[0x20, 0x09, 0x0D, 0x0A]] = True
_MASK = np.array([(1 << (8 * i)) - 1 for i in range(8)] + [(1 << 64) - 1], dtype=np.uint64)


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


def _crc(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """CRC of each line's data segment (bytes start+6 … end-4, ``ends`` without the CR), -1 where too short."""
    n = len(starts)
    out = np.full(n, -1, dtype=np.int32)
    if n == 0 or data.size == 0:
        return out
    lengths = ends - starts - PREFIX - SUFFIX
    # The length field has 4 digits (DOMAIN.md §5: `##` + 4-digit data-segment length): a longer segment
    # cannot be a packet, and its CRC (a loop over byte positions) is not worth minutes on a 5 MB line.
    valid = np.flatnonzero((lengths >= 0) & (lengths <= MAX_SEGMENT))
    if valid.size == 0:
        return out
    out[valid] = crc_spans(data, starts[valid] + PREFIX, lengths[valid])
    return out


def _strip_cr(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``ends`` less one CR at the end of a line (a CRLF log): not part of the packet."""
    return ends - ((ends > starts) & (data[np.maximum(ends - 1, 0)] == 0x0D))


def crc_segments(lines: pa.Array, buffers: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """HJ 212 CRC of each line's data segment (bytes 6 … len-4), -1 where the line is too short.
    The lines' bytes are used in place (Arrow offsets + data buffer)."""
    offsets, data = buffers or _buffers(lines)
    if len(offsets) <= 1 or data.size == 0:
        return np.full(len(offsets) - 1 if len(offsets) else 0, -1, dtype=np.int32)
    starts = offsets[:-1]
    return _crc(data, starts, _strip_cr(data, starts, offsets[1:]))


def _integrity(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frame_ok, length_ok, crc_ok) of the lines ``data[starts[i]:ends[i]]`` (ascending, disjoint; ``ends``
    before the line feed), vectorised over the buffer."""
    n = len(starts)
    if data.size < PREFIX + 2 + SUFFIX:
        data = np.concatenate([data, np.zeros(PREFIX + 2 + SUFFIX, np.uint8)])
    start = starts
    end = _strip_cr(data, starts, ends)
    size = end - start
    frame = size >= PREFIX + 2 + SUFFIX
    s, e = np.where(frame, start, 0), np.where(frame, end, PREFIX + 2 + SUFFIX)   # safe indexes

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
    # Unprintable bytes are rare (line feeds and CRs aside, which lie outside the packets): find them, then the
    # lines they sit in.
    if n:
        lo, hi = int(starts[0]), int(ends[-1])
        used = data[lo:hi]
        unprintable = np.flatnonzero((used < 0x20) | (used > 0x7E)) + lo
        if unprintable.size:
            line = (np.searchsorted(starts, unprintable, side="right") - 1).clip(0, n - 1)
            inside = (unprintable >= start[line]) & (unprintable < end[line])
            frame[np.unique(line[inside])] = False
    length_ok = frame & (size - PREFIX - SUFFIX == length_field)
    crc = _crc(data, start, end)
    crc_ok = frame & (crc == sent)
    return frame, length_ok, crc_ok


def integrity(lines: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frame_ok, length_ok, crc_ok) of each packet line, vectorised over the Arrow buffer.

    Frame: ``##`` + 4 digits + printable ASCII ending in ``&&`` + 4 hex digits (a truncated packet fails).
    Length: the 4 digits equal the data segment's byte length. CRC: HJ 212-2017 over the data segment."""
    offsets, data = _buffers(lines)
    return _integrity(data, offsets[:-1], offsets[1:])


def _pack(key: bytes) -> tuple[int, int, int]:
    """(first 8 bytes, next 8 bytes, length) of a key as little-endian words: how ``field_spans`` compares keys."""
    return (int.from_bytes(key[:8].ljust(8, b"\0"), "little"), int.from_bytes(key[8:16].ljust(8, b"\0"), "little"),
            len(key))


def _words(data: np.ndarray) -> np.ndarray:
    """The 8 bytes starting at every position of ``data`` as one little-endian word (a strided view, no copy;
    the last 7 positions are padded with zeros)."""
    padded = np.concatenate([data, np.zeros(16, np.uint8)])
    return np.ndarray((len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))


@functools.lru_cache(maxsize=32)
def _key_table(keys: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The contract's keys as sorted hashes of (first word, second word, length), with those three and the
    key's index; keys longer than 16 bytes are not in it (the caller leaves them to the regex)."""
    packed = [_pack(k.encode("ascii")) for k in keys]
    h = np.array([_hash(np.uint64(w1), np.uint64(w2), np.uint64(n)) for w1, w2, n in packed], dtype=np.uint64)
    order = np.argsort(h)
    w1, w2, n = (np.array([p[j] for p in packed], dtype=np.uint64) for j in range(3))
    return h[order], w1[order], w2[order], n[order].astype(np.int64), order


def _hash(w1, w2, n):
    """A 64-bit mix of a packed key (wrapping multiplication); equality is checked after, so collisions are harmless."""
    with np.errstate(over="ignore"):
        return ((w1 * np.uint64(0x9E3779B97F4A7C15)) ^ (w2 * np.uint64(0xC2B2AE3D27D4EB4F))
                ^ (n * np.uint64(0x165667B19E3779F9)))


def field_spans(data: np.ndarray, starts: np.ndarray, ends: np.ndarray, ok: np.ndarray, keys: list[str]
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each key's value lies in each packet, in one pass over the separators of the block.

    ``starts``/``ends``: each packet line's bytes (``ends`` without the CR); ``ok``: the packets to parse (framed,
    right length and CRC: printable ASCII). Returns (value start, value length) as (lines, keys) arrays, start -1
    where the key is absent or its value empty, and ``odd``: packets whose fields the tokens might read
    differently from a substring search (two ``=`` in a piece, or a key ending in one of ``keys``).

    The separators and ``=`` of the good segments are the events, in file order, with a mark just before each
    segment's start; a piece starts after a mark or separator, and its key runs to the ``=`` that follows."""
    n, nk = len(starts), len(keys)
    vstart = np.full((n, nk), -1, dtype=np.int64)
    vlen = np.zeros((n, nk), dtype=np.int64)
    odd = np.zeros(n, dtype=bool)
    rows = np.flatnonzero(ok)
    if rows.size == 0 or nk == 0:
        return vstart, vlen, odd
    th, tw1, tw2, tn, tindex = _key_table(tuple(keys))
    if any(len(k.encode("ascii")) > 16 for k in keys) or np.any(th[1:] == th[:-1]):
        odd[rows] = True             # a key longer than two words (or two keys of one hash): all to the regex
        return vstart, vlen, odd
    seg_s, seg_e = starts[rows] + PREFIX, ends[rows] - SUFFIX
    lo_b = int(seg_s[0]) - 1
    chunk = data[lo_b:int(seg_e[-1])]
    mark = (chunk == 0x3B) | (chunk == 0x2C) | (chunk == 0x26) | (chunk == 0x3D)
    # the lines between good packets (few: those that failed their checks) hold no events
    bad = np.flatnonzero(~ok[rows[0]:rows[-1] + 1]) + rows[0]
    if bad.size:
        lens = ends[bad] - starts[bad]
        first = np.zeros(bad.size, dtype=np.int64)
        np.cumsum(lens[:-1], out=first[1:])
        mark[np.repeat(starts[bad] - lo_b - first, lens) + np.arange(int(lens.sum()))] = False
    mark[seg_s - 1 - lo_b] = True
    at = np.flatnonzero(mark)
    kind = chunk[at]                                  # a digit: a segment's mark; else ; , & or =
    at += lo_b
    is_start = (kind >= 0x30) & (kind <= 0x39)       # marks sit on the length field's last digit
    row = np.cumsum(is_start) - 1                     # the good packet of each event (its index in rows)
    is_eq = kind == 0x3D
    # A piece: a mark or separator followed by `=` (its key) and then by the value's end (the next event).
    nxt = np.empty_like(is_eq)
    nxt[:-1] = is_eq[1:]
    nxt[-1] = False
    piece = np.flatnonzero(~is_eq & nxt)
    eq = at[piece + 1]
    key_s = at[piece] + 1
    # two `=` in one piece: the value would hold a `=`; left to the regex
    after = (piece + 2).clip(max=at.size - 1)
    odd_rows = np.zeros(rows.size, dtype=bool)
    odd_rows[row[piece[is_eq[after] & (piece + 2 < at.size)]]] = True
    value_e = at[after]
    klen = eq - key_s
    words = _words(data)
    lo = words[key_s] & _MASK[klen.clip(0, 8)]
    hi = np.where(klen > 8, words[key_s + 8] & _MASK[(klen - 8).clip(0, 8)], np.uint64(0)).astype(np.uint64)
    h = _hash(lo, hi, klen.astype(np.uint64))
    slot = np.searchsorted(th, h).clip(max=th.size - 1)
    exact = (th[slot] == h) & (tw1[slot] == lo) & (tw2[slot] == hi) & (tn[slot] == klen)
    # A key ending in a contract key (``XQN=``): a substring search would find the contract key inside it. Only
    # keys that are not themselves a contract key can (unless a contract key ends in another one).
    nested = {i for i, k in enumerate(keys) if any(k != o and k.endswith(o) for o in keys)}
    check = ~exact
    if nested:
        check |= exact & np.isin(tindex[slot], list(nested))
    cand = np.flatnonzero(check & (klen > min(len(k) for k in keys)))
    if cand.size:
        e = eq[cand]
        tail1, tail2, cl = words[(e - 8).clip(0)], words[(e - 16).clip(0)], klen[cand]
        hit = np.zeros(cand.size, dtype=bool)
        for k in keys:
            raw, length = k.encode("ascii"), len(k)
            longer = cl > length
            if length <= 8:
                hit |= longer & ((tail1 >> np.uint64(8 * (8 - length))) == np.uint64(int.from_bytes(raw, "little")))
            else:
                hit |= longer & (tail1 == np.uint64(int.from_bytes(raw[-8:], "little"))) & (
                    (tail2 >> np.uint64(8 * (16 - length))) == np.uint64(int.from_bytes(raw[:-8], "little")))
        odd_rows[row[piece[cand[hit]]]] = True
    found = np.flatnonzero(exact)
    key_id = tindex[slot[found]]
    flat = row[piece[found]] * nk + key_id
    # The first piece of each (packet, key): events are in file order, so the first index.
    if flat.size > 1 and np.any(np.bincount(flat) > 1):
        _, first = np.unique(flat, return_index=True)
        found, flat, key_id = found[first], flat[first], key_id[first]
    v0, v1 = eq[found] + 1, value_e[found]
    full = rows[flat // nk]
    nonempty = v1 > v0
    vstart[full[nonempty], key_id[nonempty]] = v0[nonempty]
    vlen[full[nonempty], key_id[nonempty]] = (v1 - v0)[nonempty]
    odd[rows[odd_rows]] = True
    vstart[odd] = -1
    return vstart, vlen, odd


def _blocks(path: Path) -> Iterator[bytes]:
    """The file in blocks of whole lines, each ending in a line feed. The text after the last line feed (empty
    when the file ends in one) is the last line, as ``string_split(content, chr(10))`` counts lines."""
    pending: list[bytes] = []
    with open(path, "rb") as fh:
        while True:
            block = fh.read(BLOCK_BYTES)
            if not block:
                break
            cut = block.rfind(b"\n")
            if cut < 0:
                pending.append(block)          # a line longer than a block: gathered until it ends
                continue
            mv = memoryview(block)
            yield b"".join([*pending, mv[:cut + 1]])
            pending = [mv[cut + 1:]]
    yield b"".join([*pending, b"\n"])


def _latin1_to_utf8(data: np.ndarray, starts: np.ndarray, ends: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each byte as one Latin-1 character, in UTF-8 (a byte ≥ 0x80 becomes two), with the positions moved."""
    high = data >= 0x80
    before = np.concatenate([[0], np.cumsum(high, dtype=np.int64)])          # high bytes before each position
    out = np.empty(data.size + int(before[-1]), dtype=np.uint8)
    pos = np.arange(data.size, dtype=np.int64) + before[:-1]
    out[pos] = np.where(high, 0xC0 | (data >> 6), data)
    out[pos[high] + 1] = 0x80 | (data[high] & 0x3F)
    return out, starts + before[starts], ends + before[ends]


def _text_column(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> pa.Array:
    """The lines ``data[starts[i]:ends[i]]`` as one Arrow string array (their bytes copied once, contiguous)."""
    lengths = ends - starts
    offsets = np.zeros(len(starts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    total = int(offsets[-1])
    if total == 0:
        return pa.array([""] * len(starts), type=pa.large_string())
    if total == data.size and (len(starts) == 0 or (starts[0] == 0 and np.array_equal(starts[1:], ends[:-1]))):
        body = data
    else:
        delta = np.zeros(data.size + 1, dtype=np.int8)
        some = lengths > 0                 # lines are disjoint: no two starts (or ends) share a position
        delta[starts[some]] += 1
        delta[ends[some]] -= 1
        body = data[np.cumsum(delta[:-1], dtype=np.int8).astype(bool)]
    return pa.Array.from_buffers(pa.large_string(), len(starts), [None, pa.py_buffer(offsets), pa.py_buffer(body)])


def read(con: duckdb.DuckDBPyConnection, contract: Contract, path: Path, workdir: Path,
         name: str = "_ingest_src") -> Extract:
    _, [one] = read_many(con, contract, [path], workdir, name)
    if isinstance(one, UnreadableFile):
        raise one
    return one


def _rtrim_cr(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``ends`` less every CR at the end of each line (``rtrim(line, chr(13))``)."""
    ends = _strip_cr(data, starts, ends)
    more = (ends > starts) & (data[np.maximum(ends - 1, 0)] == 0x0D)
    if more.any():                       # rare: a run of CRs; the last byte before it, for those lines only
        rows = np.flatnonzero(more)
        keep = np.where(data != 0x0D, np.arange(data.size), -1)
        last = np.maximum.accumulate(keep)[ends[rows] - 1]
        ends = ends.copy()
        ends[rows] = np.maximum(last + 1, starts[rows])
    return ends


def _blank(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Lines shorter than BLANK_MAX bytes of spaces, tabs and CRs only (``ends`` before the line feed)."""
    lengths = ends - starts
    blank = (lengths < BLANK_MAX) & ((lengths == 0) | _WS[data[np.minimum(starts, data.size - 1)]])
    rows = np.flatnonzero(blank & (lengths > 1))
    if rows.size:                        # the few candidates: every byte of each looked at
        lens = lengths[rows]
        first = np.concatenate([[0], np.cumsum(lens)[:-1]])
        pos = np.repeat(starts[rows] - first, lens) + np.arange(int(lens.sum()))
        owner = np.repeat(np.arange(rows.size), lens)
        solid = np.bincount(owner, weights=~_WS[data[pos]], minlength=rows.size)
        blank[rows[solid > 0]] = False
    return blank


class _NotUtf8(Exception):
    pass


def _file_batches(path: Path, k: int, keys: list[str], latin1: bool) -> Iterator[tuple[pa.Table, int, int]]:
    """The records of one log, block by block: (Arrow table, lines in the block, records in it)."""
    phys = rows = 0
    for buf in _blocks(path):
        if not latin1 and not buf.isascii():
            try:
                buf.decode("utf-8")
            except UnicodeDecodeError:
                raise _NotUtf8() from None
        data = np.frombuffer(buf, dtype=np.uint8)
        ends = np.flatnonzero(data == 0x0A)
        starts = np.empty_like(ends)
        starts[:1] = 0
        starts[1:] = ends[:-1] + 1
        keep = ~_blank(data, starts, ends)
        count = int(keep.sum())
        numbers = np.arange(phys + 1, phys + len(ends) + 1, dtype=np.int64)[keep]
        starts, ends = starts[keep], ends[keep]
        frame_ok, length_ok, crc_ok = _integrity(data, starts, ends)
        vstart, vlen, odd = field_spans(data, starts, _strip_cr(data, starts, ends), frame_ok & length_ok & crc_ok,
                                        keys)
        text_ends = _rtrim_cr(data, starts, ends)
        if latin1:
            text, text_starts, text_ends = _latin1_to_utf8(data, starts, text_ends)
        else:
            text, text_starts = data, starts
        columns = {"_k": pa.array(np.full(count, k, dtype=np.int32)),
                   "_source_row": pa.array(np.arange(rows + 1, rows + count + 1, dtype=np.int64)),
                   "_phys": pa.array(numbers),
                   "line": _text_column(text, text_starts, text_ends),
                   "_frame_ok": pa.array(frame_ok), "_len_ok": pa.array(length_ok), "_crc_ok": pa.array(crc_ok),
                   "_odd": pa.array(odd)}
        # each value's span as one number: 1-based character position << 16 | length (0: absent or empty);
        # good packets are ASCII (bytes = characters) and at most 10,009 bytes long
        span = np.where(vstart >= 0, ((vstart - starts[:, None] + 1) << 16) | vlen, 0).astype(np.uint32)
        for i in range(len(keys)):
            columns[f"_f{i}"] = pa.array(span[:, i])
        phys += int(len(keep))
        rows += count
        yield pa.table(columns), int(len(keep)), count


INSERT_BLOCKS = 8                # blocks per INSERT statement


def _insert(con: duckdb.DuckDBPyConnection, name: str, tables: list[pa.Table]) -> None:
    if not tables:
        return
    block = pa.concat_tables(tables)
    view = f"{name}_block"
    con.register(view, block)
    try:
        con.execute(f"INSERT INTO {name} SELECT * FROM {view}")
    finally:
        con.unregister(view)


def read_many(con: duckdb.DuckDBPyConnection, contract: Contract, paths: list[Path], workdir: Path,
              name: str = "_ingest_src") -> tuple[Extract | None, list[Extract | UnreadableFile]]:
    """Read many logs into one table (file index in ``_k``), block by block: returns the group and, per path,
    its own view of it or why it cannot be read. Logs are many and small (a plant and a day or month each), so
    per-file statements would cost more than the data; a large log streams through the same blocks."""
    results: list[Extract | UnreadableFile] = []
    sources: dict[int, tuple[Path, str]] = {}
    for i, path in enumerate(paths):
        with open(path, "rb") as fh:
            head = fh.read(65536)
        if is_binary(head):
            results.append(UnreadableFile("文件不是 HJ 212 文本日志（含二进制内容）",
                                          "not an HJ 212 text log (binary content)"))
            continue
        results.append(None)   # filled below
        sources[i] = (Path(path), "ascii")
    if not sources:
        return None, results

    columns = list(HEADER_FIELDS) + [f"{f['name']}_{part}" for f in contract.factors.values()
                                     for part in ("avg", "flag")]
    keys = list(HEADER_FIELDS.values()) + [f"{code}-{part}" for code in contract.factors
                                           for part in ("Avg", "Flag")]
    spans = ", ".join(f"_f{i} UINTEGER" for i in range(len(keys)))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} (_k INTEGER, _source_row BIGINT, _phys BIGINT, line VARCHAR, "
                f"_frame_ok BOOLEAN, _len_ok BOOLEAN, _crc_ok BOOLEAN, _odd BOOLEAN, {spans})")
    stats: dict[int, tuple[int, int]] = {}
    for i, (path, encoding) in sources.items():
        for latin1 in (False, True):
            total = records = 0
            try:
                pending: list[pa.Table] = []
                for table, lines, count in _file_batches(path, i, keys, latin1):
                    pending.append(table)
                    total += lines
                    records += count
                    if len(pending) == INSERT_BLOCKS:
                        _insert(con, name, pending)
                        pending = []
                _insert(con, name, pending)
            except _NotUtf8:
                # Not UTF-8 (garbled bytes): read as one byte one character, so that the bad packets fail
                # framing and the good ones keep their exact bytes.
                con.execute(f"DELETE FROM {name} WHERE _k = {int(i)}")
                sources[i] = (path, "ascii (garbled bytes)")
                continue
            break
        stats[i] = (total, records)

    def value(i: int, key: str) -> str:
        seg = f"substr(line, {PREFIX + 1}, length(line) - {PREFIX + SUFFIX})"
        exact = f"nullif(regexp_extract({seg}, {sql_str(key + '=([^;,&]*)')}, 1), '')"
        return f"CASE WHEN _odd THEN {exact} WHEN _f{i} > 0 THEN substr(line, _f{i} >> 16, _f{i} & 65535) END"

    view = f"{name}_data"
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW {view} AS
        SELECT _k, _source_row, _phys, line, _frame_ok, _len_ok, _crc_ok,
               {', '.join(f"{value(i, key)} AS {sql_ident(col)}" for i, (col, key) in enumerate(zip(columns, keys)))}
        FROM {name}
    """)
    integrity_sql = """CASE WHEN _frame_ok AND _len_ok AND _crc_ok THEN []::VARCHAR[]
        WHEN NOT _frame_ok THEN ['hj212_frame']
        WHEN NOT _len_ok AND NOT _crc_ok THEN ['hj212_length', 'hj212_crc']
        WHEN NOT _len_ok THEN ['hj212_length'] ELSE ['hj212_crc'] END"""
    common = dict(table=view, source_table=name, raw_columns=["line"], raw_headers=["packet"],
                  fields={col: col for col in columns}, headers={}, integrity=integrity_sql)
    group = Extract(**common, rows_read=sum(r for _, r in stats.values()), file_column="_k",
                    temp_tables=[view, name])
    for i, (_, encoding) in sources.items():
        results[i] = Extract(**common, rows_read=stats[i][1], encoding=encoding, where=f"_k = {i}", file_index=i)
    return group, results
