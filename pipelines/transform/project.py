"""The dbt project as dagster-dbt sees it, and the one place its manifest is prepared.

``@dbt_assets`` reads ``dbt_project/target/manifest.json`` at import time. Dagster's own
``DbtProject.prepare_if_dev()`` only parses under ``dagster dev``; ``sewershare run`` imports the
definitions in-process, so the manifest is (re)parsed here whenever it is missing or older than any
file of the project. ``dbt parse`` needs no database and no network and takes a few seconds; a
fresh manifest is reused as is. ``sewershare setup`` calls :func:`prepare_dbt_project` once.
"""
from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from pipelines.home import DBT_PROJECT_DIR, SOURCES_DIR

DBT_PROJECT = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
MANIFEST_PATH = DBT_PROJECT.manifest_path

# Everything the manifest is built from: a newer file here makes the manifest stale.
_INPUTS = ("dbt_project.yml", "profiles.yml", "models", "seeds", "macros", "tests")


def dbt_executable() -> str:
    """The dbt of this interpreter's environment (PATH need not include .venv/bin)."""
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


def dbt_launcher() -> str:
    """``sewershare-dbt`` (pipelines/transform/dbt_child.py): dbt that dies with the run that started it.
    Plain dbt when the launcher is not installed (an environment set up before it existed)."""
    candidate = Path(sys.executable).parent / "sewershare-dbt"
    return str(candidate) if candidate.exists() else dbt_executable()


def _newest_input_mtime() -> float:
    newest = 0.0
    roots = [DBT_PROJECT_DIR / name for name in _INPUTS] + [SOURCES_DIR / "reference"]
    for root in roots:
        paths = [root] if root.is_file() else root.rglob("*") if root.exists() else []
        for path in paths:
            if path.is_file():
                newest = max(newest, path.stat().st_mtime)
    return newest


def manifest_is_stale() -> bool:
    return not MANIFEST_PATH.exists() or MANIFEST_PATH.stat().st_mtime < _newest_input_mtime()


def prepare_dbt_project(force: bool = False) -> Path:
    """Parse the dbt project when its manifest is missing or stale; returns the manifest path.

    A lock file serialises concurrent preparers (pytest workers, a CLI beside ``dagster dev``).
    """
    MANIFEST_PATH.parent.mkdir(parents=True, exist_ok=True)
    with open(MANIFEST_PATH.parent / ".parse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if force or manifest_is_stale():
                # dbt's log beside the manifest (ignored by git), not a dbt_project/logs/ of its own
                env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
                       "DBT_LOG_PATH": str(MANIFEST_PATH.parent)}
                done = subprocess.run(
                    [dbt_executable(), "parse", "--quiet", "--profiles-dir", str(DBT_PROJECT_DIR)],
                    cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True,
                )
                if done.returncode != 0:
                    raise RuntimeError(f"dbt parse 失败 (failed):\n{done.stdout}\n{done.stderr}")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return MANIFEST_PATH


def dbt_var(name: str):
    """A var of dbt_project.yml: thresholds shared by the models and the Python checks live there once."""
    import yaml

    config = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    return config["vars"][name]
