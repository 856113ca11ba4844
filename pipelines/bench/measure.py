"""Measuring one piece of work: in a fresh process, its wall time, CPU time and peak memory.

Each measurement runs ``python -m pipelines.bench.worker <task> <json>`` in its own process, so that the
peak resident memory (``ru_maxrss`` from ``wait4``: the process and every child it waited for, the dbt
subprocess included) belongs to that work alone and not to what ran before it in the same interpreter.
The worker prints one JSON line (its own figures: rows, per-stage times); the parent adds wall, CPU and peak.

Peak memory *per stage* of a full run comes from a sampler thread inside the worker (``RssSampler``): the
resident memory of the worker and its children, read from ``/proc`` every 50 ms, attributed to the stage whose
Dagster step was running at that moment. A spike shorter than 50 ms can be missed; the process peak
(``ru_maxrss``) cannot, and is reported too.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.home import REPO_ROOT

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


@dataclass
class Measured:
    task: str
    wall_s: float
    cpu_s: float
    peak_mb: float
    returncode: int
    out: dict = field(default_factory=dict)
    log: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run_worker(task: str, args: dict, *, timeout: float | None = None, env: dict | None = None) -> Measured:
    """Run one worker task in a fresh process; its wall, CPU (user + system, children included), peak RSS."""
    command = [sys.executable, "-m", "pipelines.bench.worker", task, json.dumps(args)]
    environ = {k: v for k, v in os.environ.items() if k not in ("SEWERSHARE_HOME", "DAGSTER_HOME")}
    environ.update(env or {})
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=REPO_ROOT, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
    # communicate() has reaped the child: its rusage is in RUSAGE_CHILDREN; wait4 on our own pid is gone, so
    # the worker reports its own ru_maxrss (RUSAGE_SELF and RUSAGE_CHILDREN, the larger) in its JSON.
    wall = time.perf_counter() - started
    out: dict = {}
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            try:
                out = json.loads(line)
                break
            except json.JSONDecodeError:
                continue
    return Measured(task, round(wall, 3), round(out.get("_cpu_s", 0.0), 3), round(out.get("_peak_mb", 0.0), 1),
                    proc.returncode, out, (stdout + stderr)[-6000:])


def self_figures() -> dict:
    """The calling process's CPU time and peak RSS (itself and its waited-for children), for the worker."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"_cpu_s": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime,
            "_peak_mb": max(_own_peak_kb(me.ru_maxrss), kids.ru_maxrss) / 1024}


def _own_peak_kb(fallback: int) -> int:
    """This process's peak RSS since it exec'd (``VmHWM``). ``ru_maxrss`` survives execve: a worker forked from a
    parent of 1.4 GB (the one that wrote the 600 MB HJ 212 log) reported 1,456 MB for every later task."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return fallback


def cpu_now() -> float:
    """CPU seconds (user + system) of this process and its waited-for children so far: every DuckDB thread
    counts, and so does the dbt subprocess. On a shared machine CPU time is steadier than wall time."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _children(pid: int) -> list[int]:
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                text = Path(f"/proc/{pid}/task/{task}/children").read_text()
            except OSError:
                continue
            out.extend(int(c) for c in text.split())
    except OSError:
        pass
    return out


def tree_rss_mb(pid: int | None = None) -> float:
    """Resident memory of a process and all its descendants (MB), from /proc/<pid>/statm."""
    total, stack, seen = 0, [pid or os.getpid()], set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * PAGE_KB
        except (OSError, IndexError, ValueError):
            continue
        stack.extend(_children(p))
    return total / 1024


class RssSampler:
    """(time, tree RSS MB) samples of this process every ``interval`` seconds, in a daemon thread."""

    def __init__(self, interval: float = 0.05):
        self.interval, self.samples = interval, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), tree_rss_mb()))
            self._stop.wait(self.interval)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def peak_between(self, start: float, end: float) -> float:
        values = [mb for t, mb in self.samples if start <= t <= end]
        return max(values, default=0.0)
