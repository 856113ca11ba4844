"""HJ 212-2017 packet framing and CRC (DOMAIN.md §5).

The CRC is not CRC-16/MODBUS: each byte does ``crc = (crc >> 8) ^ b`` and then eight reflected
shifts with 0xA001. Because ``(crc >> 8) ^ b`` is below 256, one byte is one lookup in a
256-entry table, which lets ``crc_many`` checksum many packets at once with numpy.
"""
from __future__ import annotations

import numpy as np


def _make_table() -> np.ndarray:
    table = np.zeros(256, dtype=np.uint16)
    for x in range(256):
        crc = x
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table[x] = crc
    return table


CRC_TABLE = _make_table()


def crc_hj212(data: bytes) -> int:
    crc = 0xFFFF
    for b in data:
        crc = int(CRC_TABLE[(crc >> 8) ^ b])
    return crc


def crc_spans(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """CRC of each span ``data[starts[i] : starts[i] + lengths[i]]`` of one uint8 buffer, vectorised.

    Spans are ordered longest first, so that at byte position j the spans still running are a prefix:
    each step is one table lookup over a contiguous slice, with no masks and no padding copy."""
    n = len(starts)
    out = np.zeros(n, dtype=np.uint16)
    if n == 0:
        return out
    order = np.argsort(-lengths, kind="stable")
    span_starts = np.asarray(starts, dtype=np.int64)[order]
    span_lengths = np.asarray(lengths, dtype=np.int64)[order]
    longest = int(span_lengths[0])
    running = np.searchsorted(-span_lengths, -np.arange(longest), side="left")  # spans longer than j
    crc = np.full(n, 0xFFFF, dtype=np.uint16)
    index = np.empty(n, dtype=np.int64)
    step = np.empty(n, dtype=np.uint16)
    for j in range(longest):
        k = int(running[j])
        np.add(span_starts[:k], j, out=index[:k])
        np.right_shift(crc[:k], 8, out=step[:k])
        np.bitwise_xor(step[:k], data[index[:k]], out=step[:k])
        np.take(CRC_TABLE, step[:k], out=crc[:k])
    out[order] = crc
    return out


def crc_many(segments: list[bytes]) -> np.ndarray:
    """CRC of each data segment, vectorised across segments."""
    lengths = np.fromiter((len(s) for s in segments), dtype=np.int64, count=len(segments))
    starts = np.cumsum(lengths) - lengths
    data = np.frombuffer(b"".join(segments), dtype=np.uint8)
    return crc_spans(data, starts, lengths)


def frame(data_segment: str) -> str:
    """A complete packet line for a data segment: ``##`` + length + data + CRC + CRLF."""
    raw = data_segment.encode("ascii")
    return f"##{len(raw):04d}{data_segment}{crc_hj212(raw):04X}\r\n"
