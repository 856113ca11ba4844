"""One measured task in a fresh process (``python -m pipelines.bench.worker <task> <json args>``).

Prints one JSON line: the task's own figures plus ``_cpu_s`` and ``_peak_mb`` of this process and its children
(measure.self_figures). Tasks:

- ``alone``  {feed, files, db}: DuckDB alone reads the files into tables;
- ``ingest`` {feed, files, work}: the files copied into a fresh data home's landing, then ``ingest_feed``
  (only ingest_feed is timed);
- ``peer``   {feed, file, db}: the pandas + great-expectations peer on one file;
- ``run``    {home}: the main job on a data home, time and peak memory per stage (ingest, dbt, checks, publish).
"""
from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

from pipelines.bench.measure import cpu_now, self_figures


def task_alone(args: dict) -> dict:
    from pipelines.bench.alone import duckdb_alone

    return duckdb_alone([Path(p) for p in args["files"]], args["feed"], Path(args["db"]),
                        hj212_fields=args.get("hj212_fields", True))


def task_ingest(args: dict) -> dict:
    from pipelines import duck
    from pipelines.contracts import load_contracts
    from pipelines.home import DataHome
    from pipelines.ingest import ingest_feed

    work = Path(args["work"])
    shutil.rmtree(work, ignore_errors=True)
    folder = work / "landing" / args["feed"]
    folder.mkdir(parents=True)
    for p in args["files"]:
        shutil.copy2(p, folder / Path(p).name)
    home = DataHome(work).ensure()
    con = duck.connect(home.warehouse)
    started, cpu = time.perf_counter(), cpu_now()
    try:
        result = ingest_feed(load_contracts()[args["feed"]], home, con, "bench")
    finally:
        con.close()
    seconds, cpu = time.perf_counter() - started, cpu_now() - cpu
    return {"seconds": seconds, "cpu": cpu, "rows": result.rows_read, "loaded": result.rows_loaded,
            "quarantined": result.rows_quarantined, "balanced": result.balanced,
            "files": len(result.files), "rejected": result.files_rejected}


# The loader's phases, timed by wrapping them (``profile``): where an ingest spends its time.
PHASES = {
    "read": ("pipelines.ingest.loader", "read"),
    "read_many": ("pipelines.ingest.loader", "read_many"),
    "frame": ("pipelines.ingest.readers.tabular", "frame"),
    "batch": ("pipelines.ingest.validate", "add_to_batch"),
    "rules": ("pipelines.ingest.validate", "build_checked"),
    "quarantine": ("pipelines.ingest.quarantine", "insert"),
    "history": ("pipelines.ingest.history", "apply"),
    "findings": ("pipelines.ingest.findings", "record_checked"),
    "hash": ("pipelines.ingest.loader", "sha256_file"),
    "remap": ("pipelines.ingest.remap", "remap"),
}


def task_profile(args: dict) -> dict:
    """``ingest`` with the loader's phases timed (wall and CPU seconds per phase; nested phases overlap: read
    includes frame)."""
    import importlib
    import time as _time

    spent: dict[str, float] = {}
    cpu: dict[str, float] = {}

    def wrap(name, fn):
        def timed(*a, **k):
            t, c = _time.perf_counter(), _time.process_time()      # process_time: every DuckDB thread
            try:
                return fn(*a, **k)
            finally:
                spent[name] = spent.get(name, 0.0) + _time.perf_counter() - t
                cpu[name] = cpu.get(name, 0.0) + _time.process_time() - c
        return timed

    for name, (module, attr) in PHASES.items():
        mod = importlib.import_module(module)
        if hasattr(mod, attr):
            setattr(mod, attr, wrap(name, getattr(mod, attr)))
    out = task_ingest(args)
    out["phases"] = {k: round(v, 3) for k, v in spent.items()}
    out["phases_cpu"] = {k: round(v, 3) for k, v in cpu.items()}
    return out


def task_peer(args: dict) -> dict:
    from pipelines.bench.peer import peer_pipeline

    return peer_pipeline(args["feed"], Path(args["file"]), Path(args["db"]))


def task_run(args: dict) -> dict:
    from pipelines.bench.stages import run_with_stages

    return run_with_stages(Path(args["home"]))


TASKS = {"alone": task_alone, "ingest": task_ingest, "profile": task_profile, "peer": task_peer, "run": task_run}


def main(argv: list[str]) -> int:
    task, args = argv[0], json.loads(argv[1])
    out = TASKS[task](args)
    out.update(self_figures())
    print(json.dumps(out, ensure_ascii=False, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
