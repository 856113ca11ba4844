"""``sewershare bench``: every measurement of issue 13 in one run, on the same files, then docs/benchmark.md.

1. **Feeds** (scales ``--feed-scales``, default 1): per feed of the sample, DuckDB alone and ``ingest_feed`` on
   the same files, best of ``--repeat`` each, alternating (alone, ingest, alone, ingest …) so that a burst of
   load on the shared machine hits both. Target: ingest ≥ 0.5 of DuckDB alone per feed.
2. **Large single files** (bigfiles.py: 2 M-row CSV, 200 k-row xlsx, 2 M-packet HJ 212 log): DuckDB alone,
   ``ingest_feed`` and the pandas + great-expectations peer (peer.py). Targets: ingest ≥ 0.5 of DuckDB alone;
   ≥ 4× faster than the peer at ≤ 1/3 of its peak memory.
3. **Full runs** (scales ``--scales``, default 0.1, 1, 4): the main job on a fresh data home per scale, time and
   peak memory per stage (stages.py). Targets: time(4)/time(1) ≤ 4.4, peak(4)/peak(1) ≤ 1.5.
4. **One new day** after the full load at ``--new-day-scale`` (default 1): the next day's files of the daily
   feeds (issue 11's ``pipelines/sample/next_day.py``), then the job again on the same home. Target: ≤ 5% of
   the full refresh.

Each piece runs in a fresh process (measure.run_worker). Every ratio is reported on wall time and on CPU time
(user + system of the process and its children): on a machine shared with other sessions the wall time depends
on the neighbours, the CPU time much less. The figures and the machine's load go to ``<workdir>/results.json``
and, rendered, to ``--out``.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from pipelines.bench.bigfiles import LARGE, write_large
from pipelines.bench.measure import Measured, run_worker
from pipelines.contracts import FEEDS

DEFAULT_SCALES = (0.1, 1.0, 4.0)


def _load() -> list[float]:
    return [round(x, 1) for x in os.getloadavg()]


def _sample(workdir: Path, scale: float, seed: int = 42) -> Path:
    """The sample of ``scale`` generated once into the bench's work folder (landing only, kept for reuse)."""
    from pipelines.sample import generate

    root = workdir / "samples" / f"scale-{scale:g}"
    if not (root / ".complete").exists():
        shutil.rmtree(root, ignore_errors=True)
        generate(root, scale=scale, seed=seed, progress=False)
        (root / ".complete").write_text("ok")
    return root


def _fresh_home(sample: Path, home: Path) -> Path:
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    shutil.copytree(sample / "landing", home / "landing", copy_function=shutil.copy2)
    truth = sample / "sample_truth.json"
    if truth.exists():
        shutil.copy2(truth, home / "sample_truth.json")
    return home


def _best(runs: list[Measured]) -> dict:
    ok = [r for r in runs if r.ok]
    if not ok:
        return {"ok": False, "log": runs[-1].log if runs else ""}
    best = min(ok, key=lambda r: r.out.get("seconds", r.wall_s))
    return {"ok": True, "seconds": min(r.out.get("seconds", r.wall_s) for r in ok),
            "cpu": min(r.out.get("cpu", r.cpu_s) for r in ok),
            "peak_mb": min(r.peak_mb for r in ok), "runs": [r.out.get("seconds", r.wall_s) for r in ok],
            "out": {k: v for k, v in best.out.items() if not k.startswith("_")}}


def compare(feed: str, files: list[Path], work: Path, repeat: int, peer: bool) -> dict:
    """DuckDB alone, ingest (and the peer), alternating, best of ``repeat`` each."""
    work.mkdir(parents=True, exist_ok=True)
    alone, ingest, peers = [], [], []
    for _ in range(repeat):
        alone.append(run_worker("alone", {"feed": feed, "files": [str(f) for f in files],
                                          "db": str(work / "alone.duckdb")}))
        ingest.append(run_worker("profile", {"feed": feed, "files": [str(f) for f in files],
                                            "work": str(work / "ingest")}))
        if peer:
            peers.append(run_worker("peer", {"feed": feed, "file": str(files[0]), "db": str(work / "peer.duckdb")}))
    shutil.rmtree(work / "ingest", ignore_errors=True)
    for name in ("alone.duckdb", "peer.duckdb"):
        (work / name).unlink(missing_ok=True)
    out = {"feed": feed, "files": len(files), "bytes": sum(f.stat().st_size for f in files),
           "alone": _best(alone), "ingest": _best(ingest)}
    if peer:
        out["peer"] = _best(peers)
    return out


def feeds_at(workdir: Path, scale: float, repeat: int, feeds: list[str] | None = None) -> list[dict]:
    sample = _sample(workdir, scale)
    rows = []
    for feed in feeds or FEEDS:
        folder = sample / "landing" / feed
        files = sorted(p for p in folder.iterdir() if p.is_file()) if folder.exists() else []
        if files:
            rows.append(compare(feed, files, workdir / "work", repeat, peer=False))
            print(f"  feeds@{scale:g} {feed}: {_ratio_line(rows[-1])}", flush=True)
    return rows


def _ratio_line(row: dict) -> str:
    a, i = row["alone"], row["ingest"]
    if not (a.get("ok") and i.get("ok")):
        return "failed"
    return f"alone {a['seconds']:.2f}s ingest {i['seconds']:.2f}s speed {a['seconds'] / i['seconds']:.2f}"


def full_run(workdir: Path, scale: float, new_day: bool = False) -> dict:
    sample = _sample(workdir, scale)
    home = _fresh_home(sample, workdir / "homes" / f"scale-{scale:g}")
    full = run_worker("run", {"home": str(home)})
    out = {"scale": scale, "full": {"ok": full.ok and full.out.get("returncode") == 0, "wall": full.wall_s,
                                    "cpu": full.cpu_s, "peak_mb": full.peak_mb,
                                    **{k: v for k, v in full.out.items() if not k.startswith("_")}}}
    if not out["full"]["ok"]:
        out["full"]["log"] = full.log
    if new_day and out["full"]["ok"]:
        try:
            from pipelines.sample.next_day import write_next_day
        except ImportError:
            out["new_day"] = {"ok": False, "why": "pipelines.sample.next_day (issue 11) is not on this branch"}
        else:
            written = write_next_day(home)
            day = run_worker("run", {"home": str(home)})
            out["new_day"] = {"ok": day.ok and day.out.get("returncode") == 0, "files": len(written),
                              "wall": day.wall_s, "cpu": day.cpu_s, "peak_mb": day.peak_mb,
                              **{k: v for k, v in day.out.items() if not k.startswith("_")}}
    shutil.rmtree(home, ignore_errors=True)
    return out


def run_bench(workdir: Path, *, scales=DEFAULT_SCALES, feed_scales=(1.0,), large: dict | None = None,
              repeat: int = 2, new_day_scale: float | None = 1.0, feeds: list[str] | None = None,
              results: dict | None = None) -> dict:
    """Everything, in order; ``results`` (a previous results.json) is extended, each section replaced."""
    workdir.mkdir(parents=True, exist_ok=True)
    results = results or {}
    results.setdefault("load", []).append({"at": time.strftime("%Y-%m-%d %H:%M:%S"), "load": _load()})
    path = workdir / "results.json"

    def save():
        path.write_text(json.dumps(results, ensure_ascii=False, indent=1, default=str))

    large = LARGE if large is None else large
    if large:
        results["large"] = results.get("large", {})
        for feed, rows in large.items():
            big = write_large(workdir / "large", feed, rows)
            results["large"][feed] = {**compare(feed, [big], workdir / "work", repeat, peer=True), "rows": rows}
            print(f"  large {feed}: {_ratio_line(results['large'][feed])}", flush=True)
            save()
    for scale in feed_scales:
        results.setdefault("feeds", {})[f"{scale:g}"] = feeds_at(workdir, scale, repeat, feeds)
        save()
    for scale in scales:
        results.setdefault("runs", {})[f"{scale:g}"] = full_run(workdir, scale, new_day=(scale == new_day_scale))
        r = results["runs"][f"{scale:g}"]
        print(f"  run@{scale:g}: ok={r['full']['ok']} wall {r['full']['wall']:.1f}s cpu {r['full']['cpu']:.1f}s "
              f"peak {r['full']['peak_mb']:.0f} MB", flush=True)
        save()
    results["load"].append({"at": time.strftime("%Y-%m-%d %H:%M:%S"), "load": _load()})
    save()
    return results
