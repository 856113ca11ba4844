"""Landing is a trust boundary: what a landing entry must be before any byte of it is read (issue 14).

A bureau (or anyone who can write to ``landing/<feed>/``) controls the names, the kind and the bytes of what
lands there. Before a reader opens an entry, ``inspect`` refuses, with a bilingual reason:

- a symbolic link (whatever it points at: a file outside the data home, ``/etc/passwd``, another landing
  file) and anything else that is not a regular file (a folder, a FIFO, a socket), and anything whose
  resolved path is not in the feed's landing folder. A link is never followed: not opened, not hashed;
- a dot-file (``.DS_Store``, an editor's or uploader's temporary ``.name.tmp``) and an Office lock file
  (``~$name.xlsx``): they are registered as rejected, never silently ignored;
- a file past the per-file resource limits of the contract (``resources`` of ``sources/_defaults.yml``):
  its bytes, and for a zip container (.xlsx, a zipped Shapefile) the members, their declared expanded size
  and compression ratio (a zip bomb), and a zip nested in the zip;
- an empty file (no bytes, or only blanks): the same reason for every format.

The check reads only metadata, the zip's central directory and at most 64 KiB of the head, so a refused
file costs well under a second whatever it claims. What a refused entry becomes is the loader's business:
bytes go to ``rejected/<feed>/``; a link is replaced there by a note naming its target, never moved as a link.
"""
from __future__ import annotations

import hashlib
import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pipelines.contracts import Contract
from pipelines.ingest.readers.errors import UnreadableFile

# Fallbacks for a contract read without sources/_defaults.yml (the values of that file).
DEFAULT_RESOURCES = {
    "max_file_bytes": 512 * 1024 * 1024,
    "max_cells": 20_000_000,
    "max_decompressed_bytes": 2 * 1024 * 1024 * 1024,
    "max_compression_ratio": 200,
    "max_zip_members": 10_000,
    "max_line_bytes": 32 * 1024 * 1024,
}
EMPTY_HEAD = 64 * 1024
ZIP_MAGIC = b"PK\x03\x04"


def limit(contract: Contract, key: str) -> int:
    return int((contract.resources or {}).get(key, DEFAULT_RESOURCES[key]))


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


@dataclass(frozen=True)
class Entry:
    """What the loader needs to register a landing entry: its kind, and the hash of the bytes it may read.

    ``regular`` entries are hashed from their bytes; any other entry (a link, a folder) is known by the hash
    of a description (``symlink:<target>``), so it is registered without opening what it points at."""

    path: Path
    regular: bool
    description: str = ""

    def fingerprint(self) -> tuple[str, int]:
        return hashlib.sha256(self.description.encode("utf-8", "surrogateescape")).hexdigest(), 0


def entry(path: Path) -> Entry:
    """The kind of a landing entry, from ``lstat`` (never following a link)."""
    st = os.lstat(path)
    if stat.S_ISREG(st.st_mode):
        return Entry(path, True)
    if stat.S_ISLNK(st.st_mode):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        return Entry(path, False, f"symlink:{target}")
    kind = "directory" if stat.S_ISDIR(st.st_mode) else "fifo" if stat.S_ISFIFO(st.st_mode) else \
        "socket" if stat.S_ISSOCK(st.st_mode) else "special"
    return Entry(path, False, f"{kind}:{path.name}")


def inspect(contract: Contract, path: Path, folder: Path) -> UnreadableFile | None:
    """Why ``path`` (an entry of the landing folder ``folder``) must not be read; None when it may be."""
    found = entry(path)
    if not found.regular:
        kind, _, target = found.description.partition(":")
        if kind == "symlink":
            return UnreadableFile(f"符号链接不接入（指向 {target}）：请上传文件本身",
                                  f"a symbolic link is never followed (it points at {target}); deliver the file itself")
        words = {"directory": ("文件夹", "a folder"), "fifo": ("管道文件", "a FIFO"), "socket": ("套接字", "a socket")}
        zh, en = words.get(kind, ("特殊文件", "a special file"))
        return UnreadableFile(f"不是普通文件（{zh}），不接入", f"not a regular file ({en}); not read")
    try:
        inside = path.resolve(strict=True).parent == folder.resolve(strict=True)
    except OSError:
        inside = False
    if not inside:
        return UnreadableFile("文件解析后的路径不在本数据项的接收目录中，不接入",
                              "the file resolves outside its landing folder; not read")
    if path.name.startswith("."):
        return UnreadableFile("隐藏文件（文件名以“.”开头）不接入：多为系统或上传工具的临时文件，如需接入请改名后重新报送",
                              "a hidden dot-file is not read (usually a system or upload temporary file); "
                              "rename it to deliver it")
    if path.name.startswith("~$"):
        return UnreadableFile("Office 临时锁定文件（~$ 开头）不接入：请关闭表格后报送文件本身",
                              "an Office lock file (~$…) is not read; close the workbook and deliver the file itself")
    size = os.lstat(path).st_size
    cap = limit(contract, "max_file_bytes")
    if size > cap:
        return UnreadableFile(f"文件过大（{_size(size)}，上限 {_size(cap)}），未读取：请分批报送",
                              f"the file is too large ({_size(size)}; limit {_size(cap)}); not read: "
                              "deliver it in parts")
    with open(path, "rb") as fh:
        head = fh.read(EMPTY_HEAD)
    if size <= EMPTY_HEAD and not head.replace(b"\xef\xbb\xbf", b"").strip(b" \t\r\n\x0c"):
        return UnreadableFile("文件为空（没有任何内容）", "the file is empty (no content)")
    if head.startswith(ZIP_MAGIC):
        return _inspect_zip(contract, path)
    return None


def _inspect_zip(contract: Contract, path: Path) -> UnreadableFile | None:
    """A zip's central directory against the limits (it is what zipfile and GDAL trust for member sizes)."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        return UnreadableFile("压缩文件已损坏或不完整（无法解压）", f"the zip container is corrupt or truncated: {exc}")
    members = limit(contract, "max_zip_members")
    if len(infos) > members:
        return UnreadableFile(f"压缩包内文件过多（{len(infos)} 个，上限 {members}），未读取",
                              f"the zip holds too many members ({len(infos)}; limit {members}); not read")
    nested = [i.filename for i in infos if i.filename.lower().endswith((".zip", ".7z", ".rar", ".gz", ".tar"))]
    if nested:
        return UnreadableFile(f"压缩包中嵌套压缩包（{nested[0]}），未读取：请解压后报送",
                              f"a zip nested in the zip ({nested[0]}); not read: unpack it and deliver the files")
    total = sum(i.file_size for i in infos)
    cap = limit(contract, "max_decompressed_bytes")
    if total > cap:
        return UnreadableFile(f"解压后过大（{_size(total)}，上限 {_size(cap)}），未读取",
                              f"expands to {_size(total)} (limit {_size(cap)}); not read")
    ratio = limit(contract, "max_compression_ratio")
    for i in infos:
        if i.file_size > 1024 * 1024 and i.file_size > ratio * max(i.compress_size, 1):
            return UnreadableFile(
                f"压缩比异常（{i.filename} 由 {_size(i.compress_size)} 解压为 {_size(i.file_size)}），疑为压缩炸弹，未读取",
                f"abnormal compression ratio ({i.filename}: {_size(i.compress_size)} → {_size(i.file_size)}), "
                "a likely zip bomb; not read")
    return None
