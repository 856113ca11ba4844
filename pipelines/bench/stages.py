"""A full run of the main job, timed per stage: ingest, dbt, checks, publish.

The job runs in this process (as ``sewershare run`` does) under an ``RssSampler``; afterwards the run's step
timings are read back from the Dagster instance (``get_run_step_stats``) and each step is put in a stage by its
key: the raw ingest assets (``raw…``) are *ingest*, the dbt op is *dbt* (its models and dbt tests), the
great-expectations asset checks are *checks*, and publication with what hangs off it (the shared extracts and
the report) is *publish*. A stage's time is the sum of its steps; its peak memory is the largest resident
memory of the process tree sampled while one of its steps ran.
"""
from __future__ import annotations

import contextlib
import io
import time
from pathlib import Path

from pipelines.bench.measure import RssSampler, cpu_now

STAGES = ("ingest", "dbt", "checks", "publish")


def stage_of(step_key: str) -> str:
    key = step_key.lower()
    if "dbt" in key:
        return "dbt"
    if "check" in key or "quality" in key or "expectation" in key:
        return "checks"
    if any(w in key for w in ("publish", "share", "report", "extract", "catalogue")):
        return "publish"
    if key.startswith("raw") or "ingest" in key:
        return "ingest"
    return "other"


def _run(home):
    """Run the main job the way ``sewershare run`` does; returns (exit code, run id, instance)."""
    try:                                       # after issue 11: plan + persistent instance
        from pipelines.main_job import run_main_job
        from pipelines.operations.instance import instance_for

        code = run_main_job(home)
        instance = instance_for(home)
    except ImportError:
        from pipelines.runner import _instance, run_main_job

        code = run_main_job(home)
        instance = _instance(home)
    runs = instance.get_runs(limit=1)
    return code, runs[0].run_id if runs else None, instance


def run_with_stages(root: Path) -> dict:
    from pipelines.home import DataHome

    home = DataHome.resolve(root).ensure()
    printed = io.StringIO()
    started, cpu = time.time(), cpu_now()
    with RssSampler() as sampler, contextlib.redirect_stdout(printed):
        code, run_id, instance = _run(home)
    ended, cpu = time.time(), cpu_now() - cpu
    stages = {s: {"seconds": 0.0, "peak_mb": 0.0, "steps": 0} for s in (*STAGES, "other")}
    for step in instance.get_run_step_stats(run_id) if run_id else []:
        if step.start_time is None or step.end_time is None:
            continue
        stage = stages[stage_of(step.step_key)]
        stage["seconds"] += step.end_time - step.start_time
        stage["steps"] += 1
        stage["peak_mb"] = max(stage["peak_mb"], sampler.peak_between(step.start_time, step.end_time))
    steps = [(s.step_key, round((s.end_time or 0) - (s.start_time or 0), 2))
             for s in (instance.get_run_step_stats(run_id) if run_id else [])]
    return {"returncode": code, "run_id": run_id, "seconds": ended - started, "cpu": cpu, "stages": stages,
            "steps": steps, "sampled_peak_mb": max((mb for _, mb in sampler.samples), default=0.0),
            "output_tail": printed.getvalue()[-3000:]}
