"""Data homes operated by ``sewershare run``, built once per test session and shared across pytest-xdist workers.

- ``first_run_home``: the 0.01 sample and one ``sewershare run`` (the full refresh).
- ``operated_home``: a copy of it, the next day's files of the daily feeds (``write_next_day``), ``sewershare run``
  again.

The first worker to need one builds it under a lock in the session's shared temp root; the others read it. Tests
that change a home work on a copy (``copy_home``).
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SEWERSHARE = str(Path(sys.executable).with_name("sewershare"))


@dataclass(frozen=True)
class OperatedHome:
    root: Path
    first_output: str
    second_output: str
    manifests_after_first: dict      # dataset → manifest of extracts/all after the first run
    new_day_files: list[str]


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("SEWERSHARE_HOME", "DAGSTER_HOME")}


def sewershare_run(home: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([SEWERSHARE, "run", "--home", str(home), *extra], cwd=REPO, env=clean_env(),
                          capture_output=True, text=True, timeout=1800)


def copy_home(home: Path, target: Path) -> Path:
    """A copy of a data home (its Dagster instance included: its paths are relative to it)."""
    shutil.copytree(home, target, symlinks=True)
    return target


def _manifests(home: Path) -> dict:
    return {p.name.removesuffix(".manifest.json"): json.loads(p.read_text(encoding="utf-8"))
            for p in (home / "extracts" / "all").glob("*.manifest.json")}


def _cached(tmp_path_factory, name: str, build: Callable[[Path], dict]) -> tuple[Path, dict]:
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    directory = root / name
    directory.mkdir(exist_ok=True)
    with open(directory / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        summary = directory / "summary.json"
        if not summary.exists():
            summary.write_text(json.dumps(build(directory), ensure_ascii=False), encoding="utf-8")
        return directory / "home", json.loads(summary.read_text(encoding="utf-8"))


def first_run_home(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """The home after the first ``sewershare run`` (it generates the 0.01 sample), and that run's result."""
    def build(directory: Path) -> dict:
        done = sewershare_run(directory / "home", "--sample")
        return {"args": done.args, "returncode": done.returncode, "stdout": done.stdout, "stderr": done.stderr}

    home, data = _cached(tmp_path_factory, "first_run_home", build)
    return home, subprocess.CompletedProcess(data["args"], data["returncode"], data["stdout"], data["stderr"])


def operated_home(tmp_path_factory) -> OperatedHome:
    def build(directory: Path) -> dict:
        from pipelines.sample.next_day import write_next_day

        first_home, first = first_run_home(tmp_path_factory)
        assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
        home = copy_home(first_home, directory / "home")
        manifests = _manifests(home)
        written = write_next_day(home)
        second = sewershare_run(home)
        assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
        return {"first": first.stdout + first.stderr, "second": second.stdout + second.stderr,
                "manifests": manifests, "new_day_files": [str(p.relative_to(home)) for p in written]}

    home, data = _cached(tmp_path_factory, "operated_home", build)
    return OperatedHome(home, data["first"], data["second"], data["manifests"], data["new_day_files"])
