"""What one new day of files costs against a full refresh, end to end (issue 11, point 6).

``measure_new_day(scale)`` generates the sample of ``scale`` into a fresh data home and times two real
``sewershare run`` processes on it, exactly as an operator runs them:

1. **full refresh**: every file of the sample into an empty warehouse, every model, every check, publication;
2. **new day**: the next day's files of the daily feeds (``pipelines/sample/next_day.py``: one HJ 212 log and one
   lab CSV per plant), then ``sewershare run`` again: the run plans only what those files change.

Each cost is the wall time and the CPU time (user + system) of the process and everything it waited for (the dbt
subprocess included), so the figures hold on a shared machine too, where wall time depends on the neighbours.
``python -m pipelines.bench.new_day --scale 1`` prints them as JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from pipelines.home import REPO_ROOT, DataHome

TARGET_RATIO = 0.05


@dataclass
class Cost:
    wall_seconds: float
    cpu_seconds: float
    returncode: int


def run_cost(home: Path, *extra: str) -> tuple[Cost, str]:
    """One ``sewershare run`` on ``home`` in a fresh process; its cost and its output."""
    sewershare = str(Path(sys.executable).with_name("sewershare"))
    env = {k: v for k, v in os.environ.items() if k not in ("SEWERSHARE_HOME", "DAGSTER_HOME")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sewershare, "run", "--home", str(home), "--no-sample", *extra], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Cost(round(wall, 2), round(cpu, 2), done.returncode), done.stdout + done.stderr


def measure_new_day(scale: float = 1.0, seed: int = 42, workdir: Path | None = None, keep: bool = False) -> dict:
    """Full refresh, then one new day, on a fresh home of the sample at ``scale``; returns the figures."""
    from pipelines.sample import generate
    from pipelines.sample.next_day import write_next_day

    root = Path(workdir or tempfile.mkdtemp(prefix="sewershare-bench-"))
    home = DataHome.resolve(root / "home")
    try:
        generate(home.root, scale=scale, seed=seed, progress=False)
        full, full_log = run_cost(home.root)
        if full.returncode != 0:
            raise RuntimeError(f"full refresh failed:\n{full_log[-4000:]}")
        written = write_next_day(home.root)
        new_day, day_log = run_cost(home.root)
        if new_day.returncode != 0:
            raise RuntimeError(f"new-day run failed:\n{day_log[-4000:]}")
        plan = next((line for line in day_log.splitlines() if "本次运行" in line), "")
        return {
            "scale": scale, "seed": seed, "new_day_files": len(written),
            "full_refresh": asdict(full), "new_day": asdict(new_day),
            "ratio_wall": round(new_day.wall_seconds / full.wall_seconds, 4),
            "ratio_cpu": round(new_day.cpu_seconds / full.cpu_seconds, 4),
            "target_ratio": TARGET_RATIO, "new_day_plan": plan.strip(),
            "home": str(home.root) if keep else None,
        }
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="new day vs full refresh, end to end")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the data home (for a look in make dagster)")
    args = parser.parse_args(argv)
    print(json.dumps(measure_new_day(args.scale, args.seed, args.workdir, args.keep), ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
