"""Load the new landing files of one feed: ``ingest_feed``.

Per file, in (mtime, name) order: hash it (a repeat of a loaded file is skipped); read it (a file that
cannot be read at all goes to ``rejected/<feed>/`` and the others still load); then, in one transaction,
normalise and check every record (validate.py), quarantine the bad ones, merge the good ones into the
history, and record the file with its counts. The transaction commits only if
``rows_read = rows_loaded + rows_quarantined``; after the commit the file moves to ``archive/<feed>/``.
"""
from __future__ import annotations

import fnmatch
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from pipelines.contracts import Contract
from pipelines.home import DataHome
from pipelines.ingest import history, normalise, quarantine, registry, validate
from pipelines.ingest.readers import UnreadableFile, read
from pipelines.ingest.readers.errors import first_line

log = logging.getLogger(__name__)


@dataclass
class FileResult:
    file_name: str
    status: str                    # loaded / skipped_duplicate / rejected / failed (not recorded)
    file_id: int | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_blank: int = 0
    rows_new: int = 0
    rows_changed: int = 0
    rows_unchanged: int = 0
    encoding: str | None = None
    crs: str | None = None
    error: str | None = None
    duplicate_of: int | None = None
    stored_as: str | None = None
    seconds: float = 0.0

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_quarantined


@dataclass
class FeedResult:
    feed: str
    run_id: str
    files: list[FileResult] = field(default_factory=list)

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
    def balanced(self) -> bool:
        return all(f.balanced for f in self.files) and not self.files_failed


class IngestError(RuntimeError):
    """Raised after a feed's files were processed when a file failed or its accounting would not balance
    (that file's transaction was rolled back and the file left in landing/)."""

    def __init__(self, result: FeedResult):
        bad = [f for f in result.files if f.status == "failed" or not f.balanced]
        details = "; ".join(f"{f.file_name}: {f.error or 'rows do not balance'}" for f in bad)
        super().__init__(f"{result.feed}: {len(bad)} file(s) not loaded: {details}")
        self.result = result


def landing_files(contract: Contract, home: DataHome) -> list[Path]:
    """Files waiting in landing/<feed>/, in delivery order (mtime, then name)."""
    folder = home.landing_for(contract.feed)
    if not folder.exists():
        return []
    files = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "~$"))]
    return sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))


def _accepts(contract: Contract, path: Path) -> bool:
    return any(fnmatch.fnmatch(path.name.lower(), pattern.lower()) for pattern in contract.file_patterns)


def _move(path: Path, folder: Path, file_id: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    if target.exists():
        target = folder / f"{path.stem}.{file_id}{path.suffix}"
    shutil.move(str(path), str(target))
    return target


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


def _drop_temp(con: duckdb.DuckDBPyConnection, names: list[str]) -> None:
    for name in [validate.CHECKED_TABLE, *names]:
        for kind in ("VIEW", "TABLE"):
            try:
                con.execute(f'DROP {kind} IF EXISTS temp.main."{name}"')
            except duckdb.CatalogException:
                pass   # the other kind


def ingest_file(contract: Contract, home: DataHome, con: duckdb.DuckDBPyConnection, path: Path,
                run_id: str) -> FileResult:
    started = time.perf_counter()
    feed = contract.feed
    sha, size = registry.sha256_of(path)
    file_id = registry.next_file_id(con)
    at = _Clock.now()
    common = dict(file_id=file_id, feed=feed, file_name=path.name, sha256=sha, bytes=size, run_id=run_id,
                  loaded_at=at)

    earlier = registry.loaded_before(con, feed, sha)
    if earlier:
        stored = _move(path, home.archive / feed, file_id)
        error = f"与已接入文件「{earlier[1]}」(file_id {earlier[0]}) 内容相同，跳过 / same bytes as {earlier[1]}"
        registry.record(con, **common, status="skipped_duplicate", rows_read=0, rows_loaded=0,
                        rows_quarantined=0, error=error, duplicate_of=earlier[0], stored_as=str(stored),
                        seconds=time.perf_counter() - started)
        log.info("%s: %s skipped (same content as %s)", feed, path.name, earlier[1])
        return FileResult(path.name, "skipped_duplicate", file_id, duplicate_of=earlier[0],
                          stored_as=str(stored), error=error, seconds=time.perf_counter() - started)

    def reject(exc: UnreadableFile) -> FileResult:
        stored = _move(path, home.rejected / feed, file_id)
        registry.record(con, **common, status="rejected", rows_read=0, rows_loaded=0, rows_quarantined=0,
                        error=exc.message, stored_as=str(stored), seconds=time.perf_counter() - started)
        log.warning("%s: %s rejected: %s", feed, path.name, exc.message)
        return FileResult(path.name, "rejected", file_id, error=exc.message, stored_as=str(stored),
                          seconds=time.perf_counter() - started)

    if not _accepts(contract, path):
        return reject(UnreadableFile(f"文件类型不符（本数据项接受 {'、'.join(contract.file_patterns)}）",
                                     f"file type not accepted here ({', '.join(contract.file_patterns)})"))
    with tempfile.TemporaryDirectory(prefix="sewershare-ingest-") as work:
        extract = None
        try:
            extract = read(con, contract, path, Path(work))
        except UnreadableFile as exc:
            _drop_temp(con, ["_ingest_src", "_ingest_src_read", "_ingest_src_lines", "_ingest_src_rows"])
            return reject(exc)
        except duckdb.Error as exc:
            _drop_temp(con, ["_ingest_src", "_ingest_src_read", "_ingest_src_lines", "_ingest_src_rows"])
            return reject(UnreadableFile("文件无法读取", f"the file cannot be read: {first_line(exc)}"))

        result = FileResult(path.name, "loaded", file_id, rows_read=extract.rows_read,
                            rows_blank=extract.rows_blank, encoding=extract.encoding, crs=extract.crs)
        con.execute("BEGIN TRANSACTION")
        try:
            validate.build_checked(con, contract, extract)
            result.rows_quarantined = quarantine.insert(con, contract, extract, validate.CHECKED_TABLE,
                                                        file_id, path.name, at)
            applied = history.apply(con, contract, validate.CHECKED_TABLE, file_id, path.name, at)
            result.rows_loaded = applied.loaded
            result.rows_new, result.rows_changed, result.rows_unchanged = (
                applied.new, applied.changed, applied.unchanged)
            if not result.balanced:
                raise RuntimeError(f"accounting: read {result.rows_read} != loaded {result.rows_loaded} "
                                   f"+ quarantined {result.rows_quarantined}")
            stored = home.archive / feed / path.name
            if stored.exists():
                stored = home.archive / feed / f"{path.stem}.{file_id}{path.suffix}"
            result.stored_as = str(stored)
            result.seconds = time.perf_counter() - started
            registry.record(con, **common, status="loaded", encoding=extract.encoding, crs=extract.crs,
                            rows_read=result.rows_read, rows_loaded=result.rows_loaded,
                            rows_quarantined=result.rows_quarantined, rows_blank=result.rows_blank,
                            rows_new=applied.new, rows_changed=applied.changed,
                            rows_unchanged=applied.unchanged, stored_as=str(stored), seconds=result.seconds)
            con.execute("COMMIT")
        except Exception as exc:  # noqa: BLE001 - any failure rolls the file back and is reported
            con.execute("ROLLBACK")
            log.exception("%s: %s failed and was rolled back", feed, path.name)
            result.status, result.error = "failed", f"{type(exc).__name__}: {exc}"
            result.rows_loaded = result.rows_quarantined = 0
            return result
        finally:
            _drop_temp(con, extract.temp_tables if extract else [])
    stored.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(path), str(stored))
    log.info("%s: %s loaded: %d read, %d loaded (%d new, %d changed), %d quarantined", feed, path.name,
             result.rows_read, result.rows_loaded, result.rows_new, result.rows_changed, result.rows_quarantined)
    return result


def prepare(con: duckdb.DuckDBPyConnection, contract: Contract) -> None:
    """Macros, registry, quarantine and raw tables for a feed (idempotent)."""
    normalise.install(con)
    registry.ensure(con)
    quarantine.ensure(con, contract)
    history.ensure(con, contract)


def ingest_feed(contract: Contract, home: DataHome, con: duckdb.DuckDBPyConnection, run_id: str,
                *, strict: bool = True) -> FeedResult:
    """Load the new landing files of one feed through an open writer connection.

    Returns a FeedResult; with ``strict`` (the default) raises IngestError after all files were tried if
    any file failed or would not balance.
    """
    prepare(con, contract)
    result = FeedResult(contract.feed, run_id)
    for path in landing_files(contract, home):
        result.files.append(ingest_file(contract, home, con, path, run_id))
    if strict and not result.balanced:
        raise IngestError(result)
    return result
