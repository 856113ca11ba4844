"""The kill -9 harness (issue 14, crash-safe runs): kill a real ``sewershare run`` at a chosen stage, rerun it
once, and compare the result with a clean run of the same input.

1. **Reference**: the sample (``--scale``, ``--seed``) is generated once into ``pristine/`` (landing only); a copy
   of it is run cleanly: the content checksum of every mart (order-free, in DuckDB: ``count(*)`` and
   ``sum(hash(row))``) and the data of the extracts (each Parquet file's sha256, and each manifest without its
   ``generated_at`` / ``run_id``, see docs/decisions.md) are recorded.
2. **Trial**: a fresh copy of ``pristine/`` is run in a new session (its own process group); when the stage is
   reached the *run process only* gets SIGKILL (what the OOM killer or ``kill -9 <pid>`` does: its children are
   not signalled by the harness). Then:
   - **orphans**: every process whose environment carries the trial's token (``SEWERSHARE_TRIAL``, inherited by
     every descendant: dbt, whatever it starts) and every process of the run's group, 3 s after the kill; any
     such process is an orphan (it is then killed, so the next trial starts clean);
   - **one rerun** (``sewershare run``, nothing else): it must exit 0 and give marts and extracts identical to
     the reference.

Stages (where the kill lands): ``ingest`` (an ingestion step running), ``raw_checks`` (an ingestion check being
evaluated), ``dbt_early`` / ``dbt_mid`` / ``dbt_late`` (after 3 / 40 % / 85 % of dbt's nodes — models, seeds,
tests — were done), ``mart_checks`` (the marts' suites running), ``publish_version`` (the new
``extracts/.versions/all-*`` folder exists, not yet linked), ``publish_tempdb`` (the temporary
``published/.sewershare.*.duckdb`` exists), ``after_swap`` (the new version was swapped in; sharing and the report
still to come).

``python -m pipelines.bench.crash_trials --trials 20`` (``make crash-trials``) prints one JSON line per trial and
a summary; ``--stages`` picks stages, which are otherwise taken in turn.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipelines.home import REPO_ROOT

STAGES = ("ingest", "raw_checks", "dbt_early", "dbt_mid", "dbt_late", "mart_checks",
          "publish_version", "publish_tempdb", "after_swap")
TOKEN_ENV = "SEWERSHARE_TRIAL"
# fields of a manifest that describe the publication event, not the data (docs/decisions.md)
EVENT_FIELDS = ("generated_at", "run_id")


def _sewershare() -> str:
    return str(Path(sys.executable).with_name("sewershare"))


def _env(token: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SEWERSHARE_HOME", "DAGSTER_HOME")}
    if token:
        env[TOKEN_ENV] = token
    return env


def data_checksums(home: Path) -> dict:
    """What must be identical after a recovery: the marts' contents and the extracts' data."""
    import duckdb

    marts = {}
    con = duckdb.connect(str(home / "warehouse" / "sewershare.duckdb"), read_only=True)
    try:
        con.execute("LOAD spatial")
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' UNION ALL "
            "SELECT view_name FROM duckdb_views() WHERE schema_name = 'marts' ORDER BY 1").fetchall()]
        for table in tables:
            rows, content = con.execute(
                f'SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0) FROM marts."{table}" t').fetchone()
            marts[table] = f"{rows}:{content}"
    finally:
        con.close()
    extracts = {}
    folder = home / "extracts" / "all"
    for path in sorted(folder.glob("*.parquet")):
        extracts[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    for path in sorted(folder.glob("*.manifest.json")):
        manifest = {k: v for k, v in json.loads(path.read_text(encoding="utf-8")).items() if k not in EVENT_FIELDS}
        extracts[path.name] = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()
    return {"marts": marts, "extracts": extracts}


def _differences(a: dict, b: dict) -> list[str]:
    out = []
    for part in ("marts", "extracts"):
        for name in sorted(set(a[part]) | set(b[part])):
            if a[part].get(name) != b[part].get(name):
                out.append(f"{part}/{name}")
    return out


def _token_processes(token: str, pgid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            if os.getpgid(pid) == pgid:
                found.append(pid)
                continue
            if f"{TOKEN_ENV}={token}".encode() in (entry / "environ").read_bytes().split(b"\0"):
                found.append(pid)
        except (OSError, ProcessLookupError):
            continue
    return found


class _Watcher:
    """Decides when the stage is reached, from the run's log (Dagster's console events) and the data home."""

    def __init__(self, stage: str, home: Path, log: Path, models: int):
        self.stage, self.home, self.log, self.models = stage, home, log, models
        self.published_before = self._published_state()

    def _published_state(self):
        link = self.home / "extracts" / "all"
        return os.readlink(link) if link.is_symlink() else None

    def reached(self) -> bool:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        stage = self.stage
        if stage == "ingest":          # a feed's files being read: the loader's work folder exists
            return any((self.home / "tmp" / "ingest").glob("sewershare-ingest-*"))
        if stage == "raw_checks":      # a feed's summary is logged, its checks are evaluated next in its step
            return bool(re.search(r" - raw__(?!alert_acks)\w+ - ", text))
        if stage.startswith("dbt_"):   # dbt's own progress lines, streamed by dagster-dbt
            done = len(re.findall(r"^\d+ of \d+ (?:OK|PASS|WARN)", text, re.M))
            need = {"dbt_early": 3, "dbt_mid": int(self.models * 0.4), "dbt_late": int(self.models * 0.85)}[stage]
            return done >= max(need, 1)
        if stage == "mart_checks":
            return " - mart_expectations - " in text
        if stage == "publish_version":
            versions = self.home / "extracts" / ".versions"
            linked = self._published_state()
            return versions.is_dir() and any(p.name != Path(linked or "").name for p in versions.iterdir())
        if stage == "publish_tempdb":
            return any((self.home / "published").glob(".sewershare.*.duckdb"))
        if stage == "after_swap":
            return self._published_state() not in (None, self.published_before)
        raise ValueError(stage)


@dataclass
class Trial:
    stage: str
    killed: bool                 # the stage was reached and the run killed (False: the run ended first)
    kill_seconds: float
    orphans: list[int] = field(default_factory=list)
    rerun_returncode: int | None = None
    rerun_seconds: float = 0.0
    differences: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)

    @property
    def recovered(self) -> bool:
        return self.killed and self.rerun_returncode == 0 and not self.differences and not self.leftovers


def _leftovers(home: Path) -> list[str]:
    found = [str(p.relative_to(home)) for p in (home / "published").glob(".sewershare.*")]
    versions = home / "extracts" / ".versions"
    link = home / "extracts" / "all"
    if versions.is_dir() and link.is_symlink():
        current = Path(os.readlink(link)).name
        # older complete versions are kept (keep=3); one newer than the current is a partial publication
        found += [str(p.relative_to(home)) for p in versions.iterdir() if p.name > current]
    for folder in (home / "tmp" / "ingest",):
        if folder.is_dir():
            found += [str(p.relative_to(home)) for p in folder.iterdir()]
    return found


def run_trial(stage: str, pristine: Path, workdir: Path, reference: dict, models: int,
              timeout: float = 3600) -> Trial:
    home = workdir / "home"
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    shutil.copytree(pristine, home, symlinks=True)
    token = uuid.uuid4().hex
    log = workdir / "killed.log"
    started = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen([_sewershare(), "run", "--home", str(home)], cwd=REPO_ROOT, env=_env(token),
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    watcher = _Watcher(stage, home, log, models)
    killed = False
    while proc.poll() is None and time.perf_counter() - started < timeout:
        if watcher.reached():
            os.kill(proc.pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.02)
    kill_seconds = time.perf_counter() - started
    proc.wait()
    time.sleep(3)
    orphans = _token_processes(token, proc.pid)
    for pid in orphans:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    trial = Trial(stage, killed, round(kill_seconds, 1), orphans)
    if not killed:
        return trial
    started = time.perf_counter()
    with open(workdir / "rerun.log", "w") as out:
        done = subprocess.run([_sewershare(), "run", "--home", str(home)], cwd=REPO_ROOT, env=_env(),
                              stdout=out, stderr=subprocess.STDOUT, timeout=timeout)
    trial.rerun_seconds = round(time.perf_counter() - started, 1)
    trial.rerun_returncode = done.returncode
    if done.returncode == 0:
        trial.differences = _differences(reference, data_checksums(home))
        trial.leftovers = _leftovers(home)
    return trial


def prepare(root: Path, scale: float, seed: int) -> tuple[Path, dict, int, float]:
    """The pristine sample and the reference (clean) run: (pristine, checksums, dbt models, seconds)."""
    from pipelines.sample import generate

    pristine = root / "pristine"
    if not pristine.exists():
        generate(pristine, scale=scale, seed=seed)
    clean = root / "clean"
    if clean.exists():
        shutil.rmtree(clean)
    shutil.copytree(pristine, clean, symlinks=True)
    started = time.perf_counter()
    done = subprocess.run([_sewershare(), "run", "--home", str(clean)], cwd=REPO_ROOT, env=_env(),
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"clean run failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    models = len(re.findall(r"^\d+ of \d+ (?:OK|PASS|WARN)", done.stdout + done.stderr, re.M))
    return pristine, data_checksums(clean), models, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--stages", default=",".join(STAGES))
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None, help="JSON lines of the trials")
    args = parser.parse_args(argv)
    stages = [s for s in args.stages.split(",") if s]
    unknown = set(stages) - set(STAGES)
    if unknown:
        parser.error(f"unknown stages {sorted(unknown)}")
    root = args.workdir or Path(tempfile.mkdtemp(prefix="sewershare-crash-"))
    root.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    pristine, reference, models, clean_seconds = prepare(root, args.scale, args.seed)
    print(json.dumps({"clean_run_seconds": round(clean_seconds, 1), "dbt_models": models}), flush=True)
    trials = []
    for n in range(args.trials):
        trial = run_trial(stages[n % len(stages)], pristine, root / f"trial-{n}", reference, models)
        trials.append(trial)
        line = {**asdict(trial), "recovered": trial.recovered}
        print(json.dumps(line, ensure_ascii=False), flush=True)
        if args.out:
            with open(args.out, "a", encoding="utf-8") as f:
                f.write(json.dumps(line, ensure_ascii=False) + "\n")
    per_stage: dict[str, dict[str, int]] = {}
    for t in trials:
        s = per_stage.setdefault(t.stage, {"trials": 0, "killed": 0, "recovered": 0, "orphans": 0})
        s["trials"] += 1
        s["killed"] += t.killed
        s["recovered"] += t.recovered
        s["orphans"] += len(t.orphans)
    summary = {"trials": len(trials), "killed": sum(t.killed for t in trials),
               "recovered": sum(t.recovered for t in trials), "orphans": sum(len(t.orphans) for t in trials),
               "seconds": round(time.perf_counter() - began, 1), "per_stage": per_stage}
    print(json.dumps(summary, ensure_ascii=False), flush=True)
    return 0 if summary["recovered"] == summary["killed"] == len(trials) and not summary["orphans"] else 1


if __name__ == "__main__":
    sys.exit(main())
