"""Crash-safe runs (issue 14, point 4) and a full disk mid-run (issue 14, failure 4).

The kill -9 trials themselves are a command (``make crash-trials``, docs/reliability.md): each is two real runs.
Here, the parts they rest on, each with real processes, real files and a real Dagster instance:

- the dbt launcher (``sewershare-dbt``) dies with the process that started it and lives in a group of its own;
- a rerun's recovery removes exactly what a killed run leaves (and nothing of a live run's or of the current
  publication), and marks the killed run failed in the instance;
- a full disk gives the project's message and "published data stay at the last good version", no traceback.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from pipelines.home import DataHome
from pipelines.operations import recovery
from tests.support.homes import REPO, SEWERSHARE, clean_env

LAUNCHER = str(Path(sys.executable).with_name("sewershare-dbt"))


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # a zombie whose parent is gone is reaped by init; /proc/<pid>/stat state Z counts as gone
        try:
            if Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z"):
                return True
        except (OSError, IndexError):
            return True
        time.sleep(0.05)
    return False


def test_dbt_child_dies_with_its_parent():
    """A parent starts the launcher the way dagster-dbt does (plain Popen, the parent's pid in
    SEWERSHARE_DBT_PARENT); the launcher execs a 60 s command in place of dbt. The parent gets SIGKILL: the child
    must be gone within 2 s (it would otherwise live 60 s), and it ran in a process group of its own."""
    parent_code = (
        "import os, subprocess, sys, time\n"
        f"env = {{**os.environ, 'SEWERSHARE_DBT_PARENT': str(os.getpid()), 'SEWERSHARE_DBT_EXECUTABLE': '/bin/sleep'}}\n"
        f"child = subprocess.Popen([{LAUNCHER!r}, '60'], env=env)\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(120)\n")
    parent = subprocess.Popen([sys.executable, "-c", parent_code], stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    child = int(parent.stdout.readline())
    # the launcher has exec'd sleep once its command line says so
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        cmdline = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        if cmdline[0] == b"/bin/sleep":
            break
        time.sleep(0.05)
    assert cmdline[0] == b"/bin/sleep", cmdline
    assert os.getpgid(child) == child != os.getpgid(parent.pid)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    try:
        assert _gone(child, 2.0), "dbt's process outlived its killed parent"
    finally:
        try:
            os.kill(child, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_launcher_refuses_to_start_after_its_parent_died():
    """SEWERSHARE_DBT_PARENT names a process that is not the launcher's parent (the run died between fork and
    prctl): the launcher exits 137 without running the command (sleep 60 would take a minute)."""
    env = {**os.environ, "SEWERSHARE_DBT_PARENT": "1", "SEWERSHARE_DBT_EXECUTABLE": "/bin/sleep"}
    started = time.monotonic()
    done = subprocess.run([LAUNCHER, "60"], env=env, timeout=50)
    assert done.returncode == 137 and time.monotonic() - started < 30


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_recovery_removes_what_a_killed_run_left(tmp_path):
    """A home as a kill leaves it: a current publication (version A linked) and, beside it, what each killed stage
    leaves. Recovery must remove the seven leftovers and keep version A, the published copy and a landing file;
    a run recorded as started by a dead process is marked failed."""
    from dagster import DagsterRun, DagsterRunStatus

    from pipelines.operations.instance import instance_for

    home = DataHome(tmp_path / "home").ensure()
    versions = home.extracts / ".versions"
    current = versions / "all-20260101T000000000000-aaaaaaaa"
    current.mkdir(parents=True)
    (current / "m.parquet").write_bytes(b"x")
    os.symlink(os.path.relpath(current, home.extracts), home.extracts / "all")
    home.published.write_bytes(b"published")
    (home.landing / "plants").mkdir()
    (home.landing / "plants" / "p.xlsx").write_bytes(b"landing")
    leftovers = [
        versions / "all-20260102T000000000000-bbbbbbbb",                     # partial version folder
        home.published_dir / ".sewershare.20260102T000000000000-bbbbbbbb.duckdb",
        home.published_dir / ".sewershare.20260102T000000000000-bbbbbbbb.duckdb.wal",
        home.root / "tmp" / "ingest" / "sewershare-ingest-k1",
        home.root / "tmp" / "duckdb" / "duckdb_temp_storage_S32K-0.tmp",
        home.extracts / "city_a" / "pipes" / ".v2.0123abcd",                # per-recipient partial version
        home.reports / ".progress.html.0123abcd.tmp",
    ]
    for path in leftovers:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix in (".duckdb", ".wal", ".tmp"):
            path.write_bytes(b"partial")
        else:
            path.mkdir()
    (home.extracts / "city_a" / "pipes" / "v1").mkdir()                     # a complete version: kept
    instance = instance_for(home)
    run_id = uuid.uuid4().hex
    instance.add_run(DagsterRun(job_name="sewershare_main", run_id=run_id, status=DagsterRunStatus.STARTED,
                                tags=recovery.run_tags() | {recovery.PID_TAG: str(_dead_pid())}))
    live_id = uuid.uuid4().hex     # this process is alive: its run is left alone
    instance.add_run(DagsterRun(job_name="sewershare_main", run_id=live_id, status=DagsterRunStatus.STARTED,
                                tags=recovery.run_tags()))

    done = recovery.clean_leftovers(home)

    assert sorted(done["removed"]) == sorted(str(p.relative_to(home.root)) for p in leftovers)
    assert all(not p.exists() for p in leftovers)
    assert (home.extracts / "all").resolve() == current and (current / "m.parquet").exists()
    assert home.published.read_bytes() == b"published" and (home.landing / "plants" / "p.xlsx").exists()
    assert (home.extracts / "city_a" / "pipes" / "v1").exists()
    assert done["failed_runs"] == [run_id]
    assert instance.get_run_by_id(run_id).status == DagsterRunStatus.FAILURE
    assert instance.get_run_by_id(live_id).status == DagsterRunStatus.STARTED


def test_recovery_leaves_a_live_run_alone(tmp_path):
    """While a run holds the home (``in_use``), recovery removes nothing, even files that look left over."""
    home = DataHome(tmp_path / "home").ensure()
    temp_db = home.published_dir / ".sewershare.20260102T000000000000-bbbbbbbb.duckdb"
    temp_db.write_bytes(b"being built")
    with recovery.in_use(home):
        done = recovery.clean_leftovers(home)
    assert "skipped" in done and temp_db.exists()
    assert temp_db.name in "".join(recovery.clean_leftovers(home)["removed"])


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


def test_full_disk_mid_run_ends_in_the_projects_message(tmp_path):
    """The 0.01 sample (~6.5 MB) on a 64 MB file system filled to 3 MB free: the run runs out of space while it
    ingests. It must end non-zero with the bilingual line that published data stay at the last good version, and
    no Python traceback. Needs a tmpfs (root): skipped elsewhere."""
    mount = tmp_path / "disk"
    if not _mount_tmpfs(mount, "64m"):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        from pipelines.sample import generate

        generate(mount / "home", scale=0.01, seed=42)
        free = shutil.disk_usage(mount).free
        with open(mount / "filler", "wb") as filler:
            filler.truncate(0)
            block = b"\0" * (1 << 20)
            for _ in range(free // (1 << 20) - 3):
                filler.write(block)
        done = subprocess.run([SEWERSHARE, "run", "--home", str(mount / "home")], cwd=REPO, env=clean_env(),
                              capture_output=True, text=True, timeout=900)
        output = done.stdout + done.stderr
        assert done.returncode != 0
        assert "published data stay at the last good version" in output, output[-3000:]
        assert "Traceback" not in output, output[-5000:]
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)
