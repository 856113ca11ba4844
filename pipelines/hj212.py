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


def crc_many(segments: list[bytes]) -> np.ndarray:
    """CRC of each data segment, vectorised across segments (one numpy step per byte column)."""
    n = len(segments)
    if n == 0:
        return np.zeros(0, dtype=np.uint16)
    lengths = np.fromiter((len(s) for s in segments), dtype=np.int64, count=n)
    width = int(lengths.max())
    buf = np.zeros((n, width), dtype=np.uint8)
    flat = np.frombuffer(b"".join(segments), dtype=np.uint8)
    rows = np.repeat(np.arange(n), lengths)
    cols = np.arange(flat.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    buf[rows, cols] = flat
    crc = np.full(n, 0xFFFF, dtype=np.uint16)
    for j in range(width):
        active = lengths > j
        idx = (crc[active] >> 8) ^ buf[active, j]
        crc[active] = CRC_TABLE[idx]
    return crc


def frame(data_segment: str) -> str:
    """A complete packet line for a data segment: ``##`` + length + data + CRC + CRLF."""
    raw = data_segment.encode("ascii")
    return f"##{len(raw):04d}{data_segment}{crc_hj212(raw):04X}\r\n"
