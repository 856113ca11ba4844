"""Load the new landing files of one feed: ``ingest_feed``.

Files are taken in delivery order (mtime, name). Each is hashed: a repeat of a loaded file is skipped (under
any name); a file that cannot be read at all goes to ``rejected/<feed>/`` and the others still load. Readable
files are gathered in batches (up to MAX_BATCH_FILES files or MAX_BATCH_BYTES): one SQL statement normalises
and checks every record of a batch (validate.py), then one transaction quarantines the bad records, merges the
good ones into the history, registers the files and re-counts from the tables that every file balances
(``rows_read = rows_loaded + rows_quarantined``). After the commit the files move to ``archive/<feed>/``.
A batch that fails is retried file by file: the failing file is rolled back and left in landing/, and the
files after it wait (delivery order decides which version is current).
"""
from __future__ import annotations

import contextlib
import fnmatch
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from pipelines.contracts import Contract
from pipelines.hashing import sha256_file
from pipelines.home import DataHome
from pipelines.ingest import boundary, findings, history, normalise, quarantine, registry, remap, validate
from pipelines.ingest.normalise import sql_ident
from pipelines.ingest.readers import (
    GROUP_FORMATS,
    Extract,
    UnreadableFile,
    read,
    read_many,
)
from pipelines.ingest.readers.errors import first_line
from pipelines.operations.recovery import in_use, ingest_temp

log = logging.getLogger(__name__)

# A batch of files is checked in one statement; bounded so that its temp tables stay small.
MAX_BATCH_FILES = 400
MAX_BATCH_BYTES = 256 * 1024 * 1024
# DuckDB's memory while a feed loads (SEWERSHARE_INGEST_MEMORY, DuckDB units; empty or "none": unbounded).
# Past the bound DuckDB spills its temp tables to the warehouse's temp folder. Measured (docs/benchmark.md): at
# 1 GB the 2 M-packet HJ 212 log (600 MB) loads at 1.3 GB peak instead of 3.3 GB, now that its reader streams.
# A bound must never turn a good file away: a file that runs out of memory under it is loaded again unbounded
# (``_FeedRun.unbounded``) before anything is decided about it.
INGEST_MEMORY_LIMIT = os.environ.get("SEWERSHARE_INGEST_MEMORY", "1GB")
# A file this large is a batch of its own, checked through a view of its reader's table (no batch copy).
SOLO_FILE_BYTES = 16 * 1024 * 1024
FILES_TABLE = "_ingest_files"


@dataclass
class FileResult:
    file_name: str
    status: str    # loaded / skipped_duplicate / rejected; failed / deferred (not recorded, left in landing)
    file_id: int | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_blank: int = 0
    rows_remarks: int = 0
    rows_new: int = 0
    rows_changed: int = 0
    rows_unchanged: int = 0
    rows_unmapped: int = 0             # kept records with a descriptive value the contract could not read
    encoding: str | None = None
    crs: str | None = None
    error: str | None = None
    duplicate_of: int | None = None
    stored_as: str | None = None
    seconds: float = 0.0

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_quarantined

    @property
    def quarantine_rate(self) -> float | None:
        return self.rows_quarantined / self.rows_read if self.rows_read else None

    @property
    def unmapped_rate(self) -> float | None:
        return self.rows_unmapped / self.rows_read if self.rows_read else None


@dataclass
class FeedResult:
    feed: str
    run_id: str
    files: list[FileResult] = field(default_factory=list)
    remapped: dict[str, int] = field(default_factory=dict)   # field → stored records re-mapped this run

    def _count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def files_loaded(self) -> int:
        return self._count("loaded")

    @property
    def files_skipped(self) -> int:
        return self._count("skipped_duplicate")

    @property
    def files_rejected(self) -> int:
        return self._count("rejected")

    @property
    def files_failed(self) -> int:
        return self._count("failed")

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    @property
    def rows_unmapped(self) -> int:
        return sum(f.rows_unmapped for f in self.files)

    @property
    def files_deferred(self) -> int:
        return self._count("deferred")

    @property
    def balanced(self) -> bool:
        return all(f.balanced for f in self.files) and not self.files_failed and not self.files_deferred


class IngestError(RuntimeError):
    """Raised after a feed's files were processed when a file failed or its accounting would not balance
    (that file's transaction was rolled back and the file left in landing/)."""

    def __init__(self, result: FeedResult):
        bad = [f for f in result.files if f.status in ("failed", "deferred") or not f.balanced]
        details = "; ".join(f"{f.file_name}: {f.error or 'rows do not balance'}" for f in bad)
        super().__init__(f"{result.feed}: {len(bad)} file(s) not loaded: {details}")
        self.result = result


def _delivery_order(path: Path) -> tuple[int, str]:
    try:
        return os.lstat(path).st_mtime_ns, path.name       # lstat: a link is never followed
    except OSError:
        return 0, path.name


def landing_files(contract: Contract, home: DataHome) -> list[Path]:
    """Entries waiting in landing/<feed>/, in delivery order (mtime, then name): every entry, dot-files,
    links and folders included, so that each ends registered (boundary.inspect refuses what must not be
    read). A feed folder that is itself a link, or resolves outside landing/, is not read at all."""
    folder = home.landing_for(contract.feed)
    if not folder.exists():
        return []
    if folder.is_symlink() or folder.resolve().parent != home.landing.resolve():
        log.error("%s: 接收目录 %s 是符号链接或不在 landing/ 中，未读取 / the landing folder is a link or resolves "
                  "outside landing/; not read", contract.feed, folder)
        return []
    return sorted(folder.iterdir(), key=_delivery_order)


def _accepts(contract: Contract, path: Path) -> bool:
    return any(fnmatch.fnmatch(path.name.lower(), pattern.lower()) for pattern in contract.file_patterns)


def _move(path: Path, folder: Path, file_id: int) -> Path:
    """Move a landing entry to archive/ or rejected/: the bytes, never a link (a link is replaced by a note
    naming its target, and removed from landing/)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    if target.exists() or target.is_symlink():
        target = folder / f"{path.stem}.{file_id}{path.suffix}"
    found = boundary.entry(path)
    if found.regular or found.description.startswith("directory:"):
        try:
            os.rename(path, target)                 # same file system: the entry itself, links inside not followed
        except OSError:
            if not found.regular:
                raise
            shutil.copyfile(path, target, follow_symlinks=False)
            os.unlink(path)
        return target
    note = target.with_name(target.name + ".txt")
    note.write_text(f"未接入的{found.description.split(':', 1)[0]}（不是普通文件）/ not a regular file: "
                    f"{found.description}\n", encoding="utf-8")
    os.unlink(path)
    return note


class _Clock:
    """Strictly increasing load timestamps, so versions from files of one run keep their order."""

    last: datetime | None = None

    @classmethod
    def now(cls) -> datetime:
        now = datetime.now()
        if cls.last is not None and now <= cls.last:
            now = cls.last + timedelta(microseconds=1)
        cls.last = now
        return now


def _drop_temp(con: duckdb.DuckDBPyConnection) -> None:
    """Drop every temp table and view of the loader (all ``_ingest…``), in one call."""
    objects = con.execute(
        "SELECT table_name, table_type FROM information_schema.tables "
        "WHERE table_catalog = 'temp' AND starts_with(table_name, '_ingest')").fetchall()
    views = [f"DROP VIEW IF EXISTS temp.main.{sql_ident(n)};" for n, kind in objects if kind == "VIEW"]
    tables = [f"DROP TABLE IF EXISTS temp.main.{sql_ident(n)};" for n, kind in objects if kind != "VIEW"]
    if views or tables:
        con.execute("\n".join(views + tables))


DEFERRED = "等待前一个失败的文件处理后再接入 / waits until an earlier failed file of this feed is loaded"


def environmental(exc: BaseException) -> bool:
    """An error of the machine, not of the file (disk full, permissions, a lock, an interrupt): the file stays
    in landing/ for the next run instead of being rejected for it."""
    return isinstance(exc, (OSError, duckdb.IOException, KeyboardInterrupt, SystemExit)) or (
        isinstance(exc, duckdb.Error) and any(w in str(exc) for w in ("No space left", "Could not set lock",
                                                                       "Permission denied", "read-only")))


def _out_of_memory(exc: BaseException | None) -> bool:
    """DuckDB ran out of memory, raised as is or wrapped by a reader (``raise UnreadableFile(…) from exc``)."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, duckdb.OutOfMemoryException):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def unexpected(path: Path, exc: BaseException) -> UnreadableFile:
    """The bilingual reason for any error raised while reading one file; it names the file."""
    if isinstance(exc, UnreadableFile):
        return exc
    name = path.name
    if isinstance(exc, (MemoryError, duckdb.OutOfMemoryException)):
        return UnreadableFile(f"读取「{name}」时内存不足，文件过大或结构异常", f"{name}: out of memory while reading it "
                              f"(too large or malformed): {first_line(exc)}")
    if isinstance(exc, RecursionError):
        return UnreadableFile(f"「{name}」的结构嵌套过深，无法读取", f"{name}: nested too deeply to be read")
    if isinstance(exc, duckdb.Error):
        return UnreadableFile(f"「{name}」无法读取", f"{name} cannot be read: {first_line(exc)}")
    return UnreadableFile(f"读取「{name}」时出错（{type(exc).__name__}）",
                          f"{name} cannot be read: {type(exc).__name__}: {first_line(exc)}")


@dataclass
class _Waiting:
    """An admitted new file (not a known duplicate, of an accepted type) not yet read."""
    path: Path
    sha256: str
    size: int
    at: datetime
    common: dict
    started: float


@dataclass
class _Pending:
    """A readable new file waiting in the current batch."""
    path: Path
    result: FileResult
    sha256: str
    size: int
    at: datetime
    extract: Extract
    k: int                  # index of the file in the batch table


class _FeedRun:
    """One run over one feed's landing files (see the module docstring)."""

    def __init__(self, contract: Contract, home: DataHome, con: duckdb.DuckDBPyConnection, run_id: str,
                 work: Path):
        self.contract, self.home, self.con, self.run_id, self.work = contract, home, con, run_id, work
        self.result = FeedResult(contract.feed, run_id)
        self.batch: list[_Pending] = []
        self.batch_bytes = 0
        self.stopped = False
        self.serial = 0
        self.waiting: list[_Waiting] = []                 # admitted, not yet read (group formats)
        self.next_k = 0
        self.hashes: dict[Path, tuple[str, int]] = {}
        self.known: dict[str, tuple[int, str]] = {}       # sha256 → (file_id, name) of a load
        self.ids = iter(())
        self.unbounded: str | None = None                 # DuckDB's own memory_limit while a bound is in force

    def prepare(self, paths: list[Path]) -> None:
        """Hash the waiting files and look them all up in the registry at once; reserve their ids."""
        self.hashes = {}
        for p in paths:
            try:
                if boundary.entry(p).regular:
                    self.hashes[p] = sha256_file(p)
            except OSError:
                continue                              # hashed again (and refused with its reason) in admit
        self.known = registry.loaded_shas(self.con, self.contract.feed, [h for h, _ in self.hashes.values()])
        self.ids = iter(registry.next_file_ids(self.con, len(paths)))

    # -- admission: hash, skip, reject, read ------------------------------------------------------
    def admit(self, path: Path) -> None:
        """Register one landing entry: whatever goes wrong with it, it ends registered (rejected with the
        reason) and the feed's later files go on."""
        try:
            self._admit(path)
        except Exception as exc:  # noqa: BLE001 - one file's error never stops the feed
            log.exception("%s: %s could not be admitted", self.contract.feed, path.name)
            self.reject_unexpected(path, exc)

    def reject_unexpected(self, path: Path, exc: BaseException, common: dict | None = None,
                          started: float | None = None) -> None:
        """Reject a file after an unexpected error, registering it even when it cannot be hashed or moved."""
        started = time.perf_counter() if started is None else started
        if common is None:
            try:
                sha, size = (self.hashes.pop(path, None) or sha256_file(path)) if boundary.entry(path).regular \
                    else boundary.entry(path).fingerprint()
            except Exception:  # noqa: BLE001 - unreadable: known by its name only
                sha, size = boundary.Entry(path, False, f"unreadable:{path.name}").fingerprint()
            common = dict(file_id=next(self.ids, None) or registry.next_file_id(self.con), feed=self.contract.feed,
                          file_name=path.name, sha256=sha, bytes=size, run_id=self.run_id, loaded_at=_Clock.now())
        self.reject(path, common, started, unexpected(path, exc))

    def _admit(self, path: Path) -> None:
        if self.stopped:
            # Delivery order decides which version is current: nothing after a failed file loads.
            self.result.files.append(FileResult(path.name, "deferred", error=DEFERRED))
            return
        started = time.perf_counter()
        feed = self.contract.feed
        refusal = boundary.inspect(self.contract, path, self.home.landing_for(feed))
        found = boundary.entry(path)
        if found.regular:
            sha, size = self.hashes.pop(path, None) or sha256_file(path)
        else:
            sha, size = found.fingerprint()
        if refusal is not None:
            common = dict(file_id=next(self.ids, None) or registry.next_file_id(self.con), feed=feed,
                          file_name=path.name, sha256=sha, bytes=size, run_id=self.run_id, loaded_at=_Clock.now())
            self.reject(path, common, started, refusal)
            return
        if any(p.sha256 == sha for p in [*self.batch, *self.waiting]):
            self.flush()                      # the same bytes twice in one delivery: load the first first
            if self.stopped:
                self.result.files.append(FileResult(path.name, "deferred", error=DEFERRED))
                return
        file_id = next(self.ids, None) or registry.next_file_id(self.con)
        at = _Clock.now()
        common = dict(file_id=file_id, feed=feed, file_name=path.name, sha256=sha, bytes=size,
                      run_id=self.run_id, loaded_at=at)
        earlier = self.known.get(sha)
        if earlier:
            stored = _move(path, self.home.archive / feed, file_id)
            error = f"与已接入文件「{earlier[1]}」(file_id {earlier[0]}) 内容相同，跳过 / same bytes as {earlier[1]}"
            registry.record(self.con, **common, status="skipped_duplicate", rows_read=0, rows_loaded=0,
                            rows_quarantined=0, error=error, duplicate_of=earlier[0], stored_as=str(stored),
                            seconds=time.perf_counter() - started)
            log.info("%s: %s skipped (same content as %s)", feed, path.name, earlier[1])
            self.result.files.append(FileResult(path.name, "skipped_duplicate", file_id, duplicate_of=earlier[0],
                                                stored_as=str(stored), error=error,
                                                seconds=time.perf_counter() - started))
            return
        if not _accepts(self.contract, path):
            self.reject(path, common, started, UnreadableFile(
                f"文件类型不符（本数据项接受 {'、'.join(self.contract.file_patterns)}）",
                f"file type not accepted here ({', '.join(self.contract.file_patterns)})"))
            return
        grouped = self.contract.format in GROUP_FORMATS
        if grouped and size >= SOLO_FILE_BYTES and (self.waiting or self.batch):
            self.flush()                      # a large log is read and checked alone (below)
            if self.stopped:
                self.result.files.append(FileResult(path.name, "deferred", error=DEFERRED))
                return
        self.waiting.append(_Waiting(path, sha, size, at, common, started))
        self.batch_bytes += size
        if not grouped:
            self.read_waiting()
        if (len(self.batch) + len(self.waiting) >= MAX_BATCH_FILES or self.batch_bytes >= MAX_BATCH_BYTES
                or (grouped and size >= SOLO_FILE_BYTES)):
            self.flush()

    def read_waiting(self) -> None:
        """Read the admitted files into the batch: one by one, or a whole group in one pass."""
        waiting, self.waiting = self.waiting, []
        if not waiting:
            return
        if self.contract.format in GROUP_FORMATS:
            if not self.batch:
                validate.create_batch(self.con, self.contract)
            name = f"_ingest_g{self.serial}"
            self.serial += 1
            try:
                group, extracts = read_many(self.con, self.contract, [w.path for w in waiting], self.work, name)
            except Exception:  # noqa: BLE001 - the files are read again one by one, each with its own fate
                log.warning("%s: group read failed; reading the files one by one", self.contract.feed,
                            exc_info=True)
                group, extracts = None, [None] * len(waiting)
            offset = self.next_k
            self.next_k += len(waiting)
            if group is not None and len(waiting) == 1 and waiting[0].size >= SOLO_FILE_BYTES and not self.batch:
                validate.batch_of_one(self.con, self.contract, group, offset)
            elif group is not None:
                self.retry_unbounded(lambda: validate.add_to_batch(self.con, self.contract, group, offset),
                                     waiting[0].path.name)
            for i, (w, extract) in enumerate(zip(waiting, extracts)):
                if extract is None:                       # the group failed: read this one alone
                    self.read_one(w)
                elif isinstance(extract, UnreadableFile):
                    self.reject(w.path, w.common, w.started, extract)
                else:
                    self.pend(w, extract, offset + i)
            return
        for w in waiting:
            self.read_one(w)

    def read_one(self, w: "_Waiting") -> None:
        solo = w.size >= SOLO_FILE_BYTES
        if solo and self.batch:
            # the files gathered so far load first, as their own batch (delivery order is kept)
            self.load_batch()
            if self.stopped:
                self.result.files.append(FileResult(w.path.name, "deferred", error=DEFERRED))
                return
        name = f"_ingest_f{self.serial}"
        self.serial += 1
        k = self.next_k
        def attempt() -> Extract:
            extract = read(self.con, self.contract, w.path, self.work, name)
            if solo:
                validate.batch_of_one(self.con, self.contract, extract, k)
            else:
                if not self.batch:
                    validate.create_batch(self.con, self.contract)
                validate.add_to_batch(self.con, self.contract, extract, k)
            return extract

        try:
            extract = self.retry_unbounded(attempt, w.path.name, undo=lambda: self.drop_reader_tables(name))
        except Exception as exc:  # noqa: BLE001 - any reader error rejects this file only
            if not isinstance(exc, UnreadableFile):
                log.warning("%s: %s: reader error", self.contract.feed, w.path.name, exc_info=True)
            self.drop_reader_tables(name)
            try:
                if solo:
                    self.con.execute(f"DROP VIEW IF EXISTS temp.main.{validate.BATCH_TABLE}")
                else:
                    self.con.execute(f"DELETE FROM {validate.BATCH_TABLE} WHERE _batch_file = {int(k)}")
            except duckdb.Error:
                pass
            self.reject(w.path, w.common, w.started, unexpected(w.path, exc))
            return
        self.next_k += 1
        self.pend(w, extract, k)
        if solo:
            self.load_batch()

    def pend(self, w: "_Waiting", extract: Extract, k: int) -> None:
        result = FileResult(w.path.name, "loaded", w.common["file_id"], rows_read=extract.rows_read,
                            rows_blank=extract.rows_blank, rows_remarks=extract.rows_remarks,
                            encoding=extract.encoding, crs=extract.crs,
                            seconds=time.perf_counter() - w.started)
        self.batch.append(_Pending(w.path, result, w.sha256, w.size, w.at, extract, k))

    def reject(self, path: Path, common: dict, started: float, exc: UnreadableFile) -> None:
        stored = _move(path, self.home.rejected / self.contract.feed, common["file_id"])
        registry.record(self.con, **common, status="rejected", rows_read=0, rows_loaded=0, rows_quarantined=0,
                        error=exc.message, stored_as=str(stored), seconds=time.perf_counter() - started)
        log.warning("%s: %s rejected: %s", self.contract.feed, path.name, exc.message)
        self.result.files.append(FileResult(path.name, "rejected", common["file_id"], error=exc.message,
                                            stored_as=str(stored), seconds=time.perf_counter() - started))

    # -- loading a batch: one check statement, one transaction --------------------------------------
    def flush(self) -> None:
        self.read_waiting()
        self.load_batch()

    def load_batch(self) -> None:
        """Load the files read so far (one batch), then drop the batch's temp tables."""
        batch, self.batch, self.batch_bytes, self.next_k = self.batch, [], 0, 0
        if not batch:
            _drop_temp(self.con)
            return
        try:
            if len(batch) > 1:
                try:
                    self.load(batch)
                    return
                except Exception:  # noqa: BLE001 - retried file by file to find the file at fault
                    log.warning("%s: a batch of %d files failed; loading them one by one", self.contract.feed,
                                len(batch), exc_info=True)
            for i, pending in enumerate(batch):
                try:
                    self.load_one(pending)
                except Exception as exc:  # noqa: BLE001 - the file is rejected, or stays in landing (failed)
                    log.exception("%s: %s failed and was rolled back", self.contract.feed, pending.path.name)
                    if isinstance(exc, duckdb.Error) and not environmental(exc):
                        # The engine refused the file's content in its check or load (a conversion, a value
                        # out of memory): reject it, the later files go on. A defect of the loader itself
                        # (its accounting) or of the machine keeps the file in landing/ for a fixed rerun.
                        common = dict(file_id=pending.result.file_id, feed=self.contract.feed,
                                      file_name=pending.path.name, sha256=pending.sha256, bytes=pending.size,
                                      run_id=self.run_id, loaded_at=pending.at)
                        self.reject(pending.path, common, time.perf_counter() - pending.result.seconds,
                                    unexpected(pending.path, exc))
                        continue
                    pending.result.status, pending.result.error = "failed", f"{type(exc).__name__}: {exc}"
                    pending.result.rows_loaded = pending.result.rows_quarantined = 0
                    self.result.files.append(pending.result)
                    for later in batch[i + 1:]:
                        later.result.status, later.result.error = "deferred", DEFERRED
                        later.result.rows_loaded = later.result.rows_quarantined = 0
                        self.result.files.append(later.result)
                    self.stopped = True
                    return
        finally:
            _drop_temp(self.con)

    def load_one(self, pending: "_Pending") -> None:
        """``load`` of one file; out of memory under the ingest bound, once more without the bound."""
        self.retry_unbounded(lambda: self.load([pending]), pending.path.name)

    def retry_unbounded(self, step, name: str, undo=None):
        """``step()``; out of memory under the ingest bound, ``undo()`` and once more without the bound (a bound
        must never turn a good file away)."""
        try:
            return step()
        except Exception as exc:  # noqa: BLE001 - only out of memory is retried; a reader may wrap it
            if self.unbounded is None or not _out_of_memory(exc):
                raise
            log.warning("%s: %s: out of memory under the %s bound; once more unbounded", self.contract.feed,
                        name, INGEST_MEMORY_LIMIT)
            if undo is not None:
                undo()
            with self.lifted():
                return step()

    @contextlib.contextmanager
    def lifted(self):
        bound = self.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        self.con.execute(f"SET memory_limit = '{self.unbounded}'")
        try:
            yield
        finally:
            try:
                self.con.execute(f"SET memory_limit = '{bound}'")
            except duckdb.OutOfMemoryException:
                # DuckDB cannot shrink to the bound yet (what it holds is in use): the rest of this feed runs
                # unbounded; ingest_feed restores the setting it found at the end.
                log.warning("%s: the %s bound is lifted for the rest of this feed", self.contract.feed, bound)
                self.unbounded = None

    def drop_reader_tables(self, name: str) -> None:
        for view in (f"{name}_data",):
            self.con.execute(f"DROP VIEW IF EXISTS temp.main.{sql_ident(view)}")
        for suffix in ("", "_read", "_lines", "_crc", "_data_t"):
            self.con.execute(f"DROP TABLE IF EXISTS temp.main.{sql_ident(name + suffix)}")

    def load(self, batch: list[_Pending]) -> None:
        con, feed = self.con, self.contract.feed
        started = time.perf_counter()
        extracts = {p.k: p.extract for p in batch}
        validate.build_checked(con, self.contract, [p.k for p in batch])
        con.execute(f"CREATE OR REPLACE TEMP TABLE {FILES_TABLE} "
                    "(k INTEGER, file_id BIGINT, file_name VARCHAR, loaded_at TIMESTAMP)")
        con.executemany(f"INSERT INTO {FILES_TABLE} VALUES (?, ?, ?, ?)",
                        [[p.k, p.result.file_id, p.path.name, p.at] for p in batch])
        con.execute("BEGIN TRANSACTION")
        try:
            quarantined = quarantine.insert(con, self.contract, extracts, validate.CHECKED_TABLE, FILES_TABLE)
            applied = history.apply(con, self.contract, validate.CHECKED_TABLE, FILES_TABLE, list(extracts))
            findings.record_checked(con, self.contract, validate.CHECKED_TABLE, FILES_TABLE, list(extracts),
                                    self.run_id)
            findings.record_headers(con, self.contract, [(p.result.file_id, p.path.name, p.at, p.extract)
                                                         for p in batch], self.run_id)
            unmapped = dict(con.execute(
                f"SELECT _batch_file, count(*) FROM {validate.CHECKED_TABLE} WHERE _reasons IS NULL "
                "AND len(list_filter(_notes, n -> n.kind IN ('unknown_label', 'invalid_value'))) > 0 "
                f"AND _batch_file IN ({', '.join(str(int(k)) for k in extracts)}) GROUP BY 1").fetchall())
            ids = ", ".join(str(p.result.file_id) for p in batch)
            # Re-count from the tables themselves: what the warehouse now holds for each file.
            in_raw = dict(con.execute(f"SELECT _file_id, count(*) FROM {history.table_name(self.contract)} WHERE _file_id IN ({ids}) "
                                      "GROUP BY 1").fetchall())
            in_quarantine = dict(con.execute(f"SELECT _file_id, count(*) FROM {quarantine.table_name(self.contract)} "
                                             f"WHERE _file_id IN ({ids}) GROUP BY 1").fetchall())
            share = (time.perf_counter() - started) / len(batch)
            rows = []
            for i, p in enumerate(batch):
                k = p.k
                r, a = p.result, applied[k]
                r.rows_quarantined = in_quarantine.get(r.file_id, 0)
                r.rows_new, r.rows_changed, r.rows_unchanged = a.new, a.changed, a.unchanged
                r.rows_loaded = a.loaded
                r.rows_unmapped = unmapped.get(k, 0)
                if (in_raw.get(r.file_id, 0) != a.new + a.changed or r.rows_quarantined != quarantined.get(k, 0)
                        or not r.balanced):
                    raise RuntimeError(
                        f"{p.path.name}: accounting: read {r.rows_read} != loaded {r.rows_loaded} "
                        f"+ quarantined {r.rows_quarantined} (new versions in raw: {in_raw.get(r.file_id, 0)})")
                stored = self.home.archive / feed / p.path.name
                if stored.exists() or any(q.path.name == p.path.name for q in batch[:i]):
                    stored = self.home.archive / feed / f"{p.path.stem}.{r.file_id}{p.path.suffix}"
                r.stored_as, r.seconds = str(stored), r.seconds + share
                rows.append(dict(file_id=r.file_id, feed=feed, file_name=p.path.name, sha256=p.sha256,
                                 bytes=p.size, encoding=r.encoding, crs=r.crs, rows_read=r.rows_read,
                                 rows_loaded=r.rows_loaded, rows_quarantined=r.rows_quarantined, status="loaded",
                                 error=None, loaded_at=p.at, run_id=self.run_id, rows_blank=r.rows_blank,
                                 rows_remarks=r.rows_remarks,
                                 rows_new=a.new, rows_changed=a.changed, rows_unchanged=a.unchanged,
                                 duplicate_of=None, stored_as=str(stored), seconds=r.seconds,
                                 rows_unmapped=r.rows_unmapped, quarantine_rate=r.quarantine_rate,
                                 unmapped_rate=r.unmapped_rate))
            registry.record_many(con, rows)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        for p in batch:
            self.known.setdefault(p.sha256, (p.result.file_id, p.path.name))
            target = Path(p.result.stored_as)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(p.path), str(target))
            self.result.files.append(p.result)
            log.info("%s: %s loaded: %d read, %d loaded (%d new, %d changed), %d quarantined", feed,
                     p.path.name, p.result.rows_read, p.result.rows_loaded, p.result.rows_new,
                     p.result.rows_changed, p.result.rows_quarantined)


def prepare(con: duckdb.DuckDBPyConnection, contract: Contract) -> None:
    """Macros, registry, quarantine and raw tables for a feed (idempotent)."""
    normalise.install(con)
    registry.ensure(con)
    findings.ensure(con)
    quarantine.ensure(con, contract)
    history.ensure(con, contract)


def ingest_feed(contract: Contract, home: DataHome, con: duckdb.DuckDBPyConnection, run_id: str,
                *, strict: bool = True, paths: list[Path] | None = None) -> FeedResult:
    """Load the new landing files of one feed through an open writer connection.

    ``paths``: the landing files to load (default: all of them); either way in delivery order.
    Returns a FeedResult; with ``strict`` (the default) raises IngestError after all files were tried if
    any file failed or would not balance.
    """
    prepare(con, contract)
    if INGEST_MEMORY_LIMIT.strip().lower() in ("", "none"):
        return _ingest(contract, home, con, run_id, strict, paths)
    # DuckDB's memory bounded while files load: past the bound its temp tables spill to the warehouse's temp
    # folder (``<warehouse>.tmp``, in the data home) instead of growing with the largest file.
    previous = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    con.execute(f"SET memory_limit = '{INGEST_MEMORY_LIMIT}'")
    try:
        return _ingest(contract, home, con, run_id, strict, paths, unbounded=previous)
    finally:
        con.execute(f"SET memory_limit = '{previous}'")


def _ingest(contract: Contract, home: DataHome, con: duckdb.DuckDBPyConnection, run_id: str,
            strict: bool, paths: list[Path] | None, unbounded: str | None = None) -> FeedResult:
    # Labels the contract has learnt since they were stored: re-map the kept text before new files load.
    remapped = remap.remap(con, contract)
    # the work folder in the data home (pipelines/operations/recovery.py): a killed run's is found and removed
    work_root = ingest_temp(home)
    work_root.mkdir(parents=True, exist_ok=True)
    with in_use(home), tempfile.TemporaryDirectory(prefix="sewershare-ingest-", dir=work_root) as work:
        run = _FeedRun(contract, home, con, run_id, Path(work))
        run.unbounded = unbounded
        run.result.remapped = remapped
        if paths is None:
            paths = landing_files(contract, home)
        else:
            paths = sorted(paths, key=lambda p: (p.lstat().st_mtime_ns, p.name))   # links: never followed
        run.prepare(paths)
        for path in paths:
            run.admit(path)
        run.flush()
    result = run.result
    if strict and not result.balanced:
        raise IngestError(result)
    return result
