"""Crash recovery (issue 14): what a killed run left behind is cleaned before the next run starts.

A run killed with ``kill -9`` (or by the OOM killer, or a power cut) cannot clean up after itself. What it can
leave, and what :func:`clean_leftovers` removes:

- a partial publication: ``extracts/.versions/<recipient>-<stamp>/`` that no ``extracts/<recipient>`` link points
  at, the temporary link ``extracts/.<recipient>.<hex>``, ``published/.sewershare.<stamp>.duckdb`` and its
  ``.wal`` (the swap, ``os.replace``, is atomic: the published copy itself is always the old or the new one);
- a partial per-recipient extract version ``extracts/<recipient>/<dataset>/.v<n>.<hex>/`` and its link
  ``.current.<hex>``;
- the report's ``.<name>.<hex>.tmp`` files;
- the ingestion work folders ``<home>/tmp/ingest/sewershare-*`` and DuckDB's spill files ``<home>/tmp/duckdb``
  (DuckDB removes them on a clean close only);
- in the Dagster instance, the killed run is still "started" and may hold the warehouse pool's slot, which would
  make the next run wait for ever: a run of this home whose process (tag ``sewershare/pid``) is gone is marked
  failed and its slots are freed (what the daemon's run monitoring does, for homes without a daemon).

The warehouse itself needs nothing: DuckDB replays or drops its WAL on open, and dbt's models are rebuilt by the
rerun because the killed run's materializations were never recorded.

Cleaning must never touch the work of a live run. Every step that creates such files holds a shared lock on
``<home>/tmp/in-use.lock`` (:func:`in_use`) while it works; cleaning takes the lock exclusively without waiting and
does nothing when another run holds it.
"""
from __future__ import annotations

import fcntl
import os
import re
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.home import DataHome

PID_TAG = "sewershare/pid"
HOST_TAG = "sewershare/host"
VERSIONS = ".versions"
_PARTIAL_VERSION = re.compile(r"\.v\d+\.[0-9a-f]{8}")
_TEMP_LINK = re.compile(r"\.[^/]+\.[0-9a-f]{8}")


def lock_path(home: DataHome) -> Path:
    return home.root / "tmp" / "in-use.lock"


def ingest_temp(home: DataHome) -> Path:
    """Where the ingestion's work folders go: in the data home, so a rerun can find a killed run's."""
    return home.root / "tmp" / "ingest"


def run_tags() -> dict[str, str]:
    """Tags of an in-process run: the process that executes it (so a later run can tell it died)."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


@contextmanager
def in_use(home: DataHome) -> Iterator[None]:
    """Hold while creating files a crash could leave behind: cleaning waits for no one and skips while held."""
    path = lock_path(home)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a")
    except OSError:            # an unwritable home: the work itself will fail with the project's message
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _linked_versions(extracts: Path) -> set[str]:
    linked = set()
    for entry in extracts.iterdir():
        if entry.is_symlink():
            target = os.readlink(entry)
            linked.add(Path(target).name)
    return linked


def _remove(path: Path, removed: list[str], home: DataHome) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        return
    removed.append(str(path.relative_to(home.root)))


def _clean_files(home: DataHome) -> list[str]:
    removed: list[str] = []
    extracts = home.extracts
    if extracts.is_dir():
        versions = extracts / VERSIONS
        linked = _linked_versions(extracts)
        if versions.is_dir():
            for version in versions.iterdir():
                if version.name not in linked:
                    _remove(version, removed, home)
        for entry in extracts.iterdir():
            if entry.name != VERSIONS and entry.is_symlink() and _TEMP_LINK.fullmatch(entry.name):
                _remove(entry, removed, home)
        # per-recipient extracts: extracts/<recipient>/<dataset>/.v<n>.<hex>/ and .current.<hex>
        for dataset in extracts.glob("*/*"):
            if dataset.is_dir() and not dataset.is_symlink() and not str(dataset).startswith(str(versions)):
                for entry in dataset.iterdir():
                    if entry.name.startswith(".") and (_PARTIAL_VERSION.fullmatch(entry.name)
                                                       or (entry.is_symlink() and _TEMP_LINK.fullmatch(entry.name))):
                        _remove(entry, removed, home)
    if home.published_dir.is_dir():
        stem = home.published.stem
        for entry in home.published_dir.iterdir():
            if entry.name.startswith(f".{stem}.") and (entry.name.endswith(".duckdb")
                                                      or entry.name.endswith(".duckdb.wal")):
                _remove(entry, removed, home)
    if home.reports.is_dir():
        for entry in home.reports.rglob(".*.tmp"):
            _remove(entry, removed, home)
    for folder in (ingest_temp(home), home.root / "tmp" / "duckdb"):
        if folder.is_dir():
            for entry in folder.iterdir():
                _remove(entry, removed, home)
    return removed


def _prune_checkout_builds() -> list[str]:
    """Per-run and per-warehouse dbt folders an older version left in the checkout's ``dbt_project/target``
    (``dbt_models-*``, ``warehouse-*``): builds now go to the data home. The parse manifest stays."""
    from pipelines.home import DBT_PROJECT_DIR

    removed = []
    target = DBT_PROJECT_DIR / "target"
    for pattern in ("dbt_models-*", "warehouse-*"):
        for folder in target.glob(pattern):
            if folder.is_dir():
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(str(folder))
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fail_dead_runs(home: DataHome) -> list[str]:
    """Mark the in-process runs of this home whose process is gone as failed, freeing their pool slots."""
    from dagster import DagsterRunStatus, RunsFilter

    from pipelines.operations.instance import instance_for

    instance = instance_for(home)
    host = socket.gethostname()
    failed = []
    runs = instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.STARTED, DagsterRunStatus.STARTING,
                                                  DagsterRunStatus.CANCELING]))
    for run in runs:
        pid = run.tags.get(PID_TAG)
        if pid is None or run.tags.get(HOST_TAG) != host or _alive(int(pid)):
            continue
        instance.report_run_failed(run, "运行进程已终止（被杀死或崩溃），由下一次运行标记为失败。"
                                        "The run's process died (killed or crashed); marked failed by the next run.")
        try:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        except Exception:  # noqa: BLE001 - storages without op concurrency have no slots to free
            pass
        failed.append(run.run_id)
    return failed


def clean_leftovers(home: DataHome) -> dict[str, list[str]]:
    """Remove what killed runs left, unless a run of this home is working now. Returns what was done."""
    path = lock_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return {"skipped": ["another run is working in this home"]}
        try:
            return {"removed": _clean_files(home), "failed_runs": _fail_dead_runs(home),
                    "pruned": _prune_checkout_builds()}
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
