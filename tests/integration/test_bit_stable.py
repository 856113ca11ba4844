"""Bit-stable outputs and a clean checkout (issue 14, points 7 and 8).

- Two fresh runs of the same input (the 0.01 sample, seed 42, each generated into its own empty home) give
  byte-identical extracts: every Parquet file has the same sha256, and every manifest is identical except its
  ``generated_at`` and ``run_id`` (when and by which run the dataset was published: docs/decisions.md). The
  published copy's marts have the same contents.
- ``sewershare run`` writes nothing into the checkout: dbt's target and logs are in the data home
  (``<home>/dbt/target``), no untracked file appears in ``git status``, and the checkout's ``dbt_project/target``
  holds only the parse manifest (no per-run or per-warehouse folder).
"""
from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import duckdb

from pipelines.bench.crash_trials import EVENT_FIELDS
from tests.support.homes import REPO, first_run_home, sewershare_run


def _extracts(home: Path) -> dict[str, str]:
    folder = home / "extracts" / "all"
    found = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.parquet")}
    for path in folder.glob("*.manifest.json"):
        manifest = {k: v for k, v in json.loads(path.read_text(encoding="utf-8")).items() if k not in EVENT_FIELDS}
        found[path.name] = json.dumps(manifest, ensure_ascii=False, sort_keys=True)
    return found


def _marts(home: Path) -> dict[str, tuple]:
    con = duckdb.connect(str(home / "published" / "sewershare.duckdb"), read_only=True)
    try:
        con.execute("LOAD spatial")
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()]
        return {t: con.execute(f'SELECT count(*), sum(hash(m)::HUGEINT) FROM marts."{t}" m').fetchone()
                for t in tables}
    finally:
        con.close()


def test_two_fresh_runs_of_the_same_input_give_identical_extracts(tmp_path_factory, tmp_path):
    first_home, first = first_run_home(tmp_path_factory)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    second = sewershare_run(tmp_path / "home", "--sample")
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]

    a, b = _extracts(first_home), _extracts(tmp_path / "home")
    assert len([n for n in a if n.endswith(".parquet")]) > 10        # every mart, not an empty folder
    assert sorted(a) == sorted(b)
    assert [n for n in a if a[n] != b[n]] == []
    assert _marts(first_home) == _marts(tmp_path / "home")


def test_a_run_leaves_the_checkout_clean(tmp_path_factory):
    home, first = first_run_home(tmp_path_factory)
    assert first.returncode == 0
    assert (home / "dbt" / "target").is_dir() and (home / "dbt" / "target" / "dbt.log").exists()
    untracked = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=REPO,
                               capture_output=True, text=True, check=True).stdout
    assert [line for line in untracked.splitlines() if line.startswith("??")] == []
    target = REPO / "dbt_project" / "target"
    assert [p.name for p in target.iterdir() if p.is_dir() and p.name.startswith(("dbt_models-", "warehouse-"))] \
        == []
