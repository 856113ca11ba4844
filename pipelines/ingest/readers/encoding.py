"""Text encoding of a delivered file, detected by charset-normalizer on a byte sample (never guessed).

DuckDB reads UTF-8 only, so a GBK/GB18030 file is transcoded once, in bulk, to a temporary UTF-8 copy.
"""
from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

from pipelines.ingest.readers.errors import UnreadableFile

SAMPLE_BYTES = 256 * 1024

# Contract encoding names → the codecs charset-normalizer may choose among. GB18030 is a superset of
# GBK, so a GBK file is decoded as GB18030 (a stray GB18030-only character does not break it).
_CANDIDATES = {
    "utf-8": ["utf_8"], "utf-8-sig": ["utf_8"], "ascii": ["utf_8"],
    "gbk": ["gb18030"], "gb2312": ["gb18030"], "gb18030": ["gb18030"],
}


@dataclass(frozen=True)
class Encoding:
    label: str          # what the registry records: utf-8, utf-8-sig, gbk, gb18030
    codec: str          # Python codec for transcoding; "utf_8" means DuckDB can read the file as is

    @property
    def needs_transcoding(self) -> bool:
        return self.codec != "utf_8"


def is_binary(head: bytes) -> bool:
    """A NUL byte or a zip signature (.xlsx) in the first bytes: not a text file, whatever its name."""
    return b"\x00" in head or head.startswith(b"PK\x03\x04")


def _sample(path: Path) -> tuple[bytes, bool]:
    with open(path, "rb") as fh:
        data = fh.read(SAMPLE_BYTES + 1)
    truncated = len(data) > SAMPLE_BYTES
    data = data[:SAMPLE_BYTES]
    if truncated:
        # Cut at a line end so that no multi-byte character is split.
        cut = data.rfind(b"\n")
        if cut > 0:
            data = data[: cut + 1]
    return data, truncated


def detect(path: Path, accepted: tuple[str, ...] = ("utf-8", "utf-8-sig", "gbk")) -> Encoding:
    """The encoding of a text file among the contract's accepted ones; UnreadableFile when the bytes are
    not text in any of them (a binary file, a spreadsheet renamed .csv)."""
    data, _ = _sample(path)
    if not data.strip():
        raise UnreadableFile("文件为空", "the file is empty")
    if is_binary(data):          # also after a BOM: a NUL byte is no character of any accepted encoding
        raise UnreadableFile("文件不是文本文件（含二进制内容），无法按CSV读取",
                             "not a text file (binary content); cannot be read as CSV")
    if data.startswith(codecs.BOM_UTF8):
        return Encoding("utf-8-sig", "utf_8")
    candidates: list[str] = []
    for name in accepted or ("utf-8",):
        for codec in _CANDIDATES.get(name.lower(), [name.lower().replace("-", "_")]):
            if codec not in candidates:
                candidates.append(codec)
    best = from_bytes(data, cp_isolation=candidates).best()
    if best is None:
        raise UnreadableFile(
            f"无法识别文件编码（允许：{'、'.join(accepted)}），可能不是文本文件",
            f"no accepted text encoding ({', '.join(accepted)}) fits the bytes; probably not a text file")
    codec = codecs.lookup(best.encoding).name.replace("-", "_")
    if codec in ("utf_8", "ascii"):
        return Encoding("utf-8", "utf_8")
    if codec == "gb18030":
        try:
            data.decode("gbk")
            return Encoding("gbk", "gb18030")
        except UnicodeDecodeError:
            return Encoding("gb18030", "gb18030")
    return Encoding(codec, codec)


def transcode(path: Path, encoding: Encoding, target: Path) -> Path:
    """Write a UTF-8 copy of the file (whole file in one decode; C speed, no per-line Python)."""
    try:
        text = path.read_bytes().decode(encoding.codec)
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"文件中有不符合 {encoding.label} 编码的字节（位置 {exc.start}）",
                             f"bytes at offset {exc.start} are not valid {encoding.label}") from exc
    target.write_text(text, encoding="utf-8")
    return target
