"""Render a bench results.json as markdown: the machine, the versions, each target with its measured ratio."""
from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata

from pipelines.bench.measure import tree_rss_mb  # noqa: F401  (same /proc readings as the sampler)
from pipelines.home import REPO_ROOT

TARGETS = {"speed": 0.5, "peer_speedup": 4.0, "peer_memory": 1 / 3, "scale_time": 4.4, "scale_memory": 1.5,
           "new_day": 0.05}
PACKAGES = ("duckdb", "dbt-core", "dbt-duckdb", "dagster", "dagster-dbt", "great-expectations", "pandas", "pyarrow",
            "numpy", "openpyxl")


def machine() -> dict:
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in open("/proc/meminfo", encoding="utf-8"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                            text=True).stdout.strip()
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem, "os": platform.platform(),
            "python": platform.python_version(), "commit": commit, "versions": versions}


def _ok(flag: bool | None) -> str:
    return "—" if flag is None else ("✅ met" if flag else "❌ not met")


def _f(x, fmt=".2f") -> str:
    return "—" if x is None else format(x, fmt)


def _speed(row: dict, key: str) -> float | None:
    a, i = row.get("alone", {}), row.get("ingest", {})
    if not (a.get("ok") and i.get("ok")) or not i.get(key):
        return None
    return a[key] / i[key]


def feed_table(rows: list[dict], title: str) -> list[str]:
    out = [f"| {title} | files | MB | rows | DuckDB alone (wall / CPU) | ingest (wall / CPU) | speed wall | "
           f"speed CPU | peak MB alone / ingest | ≥ 0.5 |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        a, i = r["alone"], r["ingest"]
        sw, sc = _speed(r, "seconds"), _speed(r, "cpu")
        met = None if sw is None else max(sw, sc or 0) >= TARGETS["speed"]
        rows_read = i.get("out", {}).get("rows", "—")
        out.append(f"| {r['feed']} | {r['files']} | {r['bytes'] / 1e6:.1f} | {rows_read} | "
                   f"{_f(a.get('seconds'))} s / {_f(a.get('cpu'))} s | {_f(i.get('seconds'))} s / {_f(i.get('cpu'))} s | "
                   f"{_f(sw)} | {_f(sc)} | {_f(a.get('peak_mb'), '.0f')} / {_f(i.get('peak_mb'), '.0f')} | {_ok(met)} |")
    return out


def large_table(large: dict) -> list[str]:
    out = ["| file | rows | DuckDB alone | ingest | peer (pandas + GE) | speed vs alone (wall / CPU) | "
           "peer ÷ ingest time (wall / CPU) | peak MB alone / ingest / peer | ingest ÷ peer memory | targets |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for feed, r in large.items():
        a, i, p = r["alone"], r["ingest"], r.get("peer", {})
        sw, sc = _speed(r, "seconds"), _speed(r, "cpu")
        pw = p["seconds"] / i["seconds"] if p.get("ok") and i.get("ok") else None
        pc = p["cpu"] / i["cpu"] if p.get("ok") and i.get("ok") and i.get("cpu") else None
        pm = i["peak_mb"] / p["peak_mb"] if p.get("ok") and i.get("ok") and p.get("peak_mb") else None
        marks = [("≥0.5", None if sw is None else max(sw, sc or 0) >= TARGETS["speed"]),
                 ("≥4×", None if pw is None else max(pw, pc or 0) >= TARGETS["peer_speedup"]),
                 ("≤⅓ mem", None if pm is None else pm <= TARGETS["peer_memory"])]
        out.append(f"| {feed} ({r['bytes'] / 1e6:.0f} MB) | {r['rows']:,} | {_f(a.get('seconds'))} s | "
                   f"{_f(i.get('seconds'))} s | {_f(p.get('seconds'))} s | {_f(sw)} / {_f(sc)} | {_f(pw)} / {_f(pc)} | "
                   f"{_f(a.get('peak_mb'), '.0f')} / {_f(i.get('peak_mb'), '.0f')} / {_f(p.get('peak_mb'), '.0f')} | "
                   f"{_f(pm)} | {' '.join(f'{n} {_ok(m)}' for n, m in marks)} |")
    return out


def runs_table(runs: dict) -> list[str]:
    out = ["| scale | result | wall | CPU | peak MB | ingest s / MB | dbt s / MB | checks s / MB | publish s / MB |",
           "|---|---|---|---|---|---|---|---|---|"]
    for scale, r in runs.items():
        for label, run in (("full", r.get("full")), ("new day", r.get("new_day"))):
            if not run:
                continue
            if "stages" not in run:
                out.append(f"| {scale} | {label}: {'ok' if run.get('ok') else 'failed'} {run.get('why', '')} "
                           "| | | | | | | |")
                continue
            st = run["stages"]
            cells = " | ".join(f"{st[s]['seconds']:.1f} / {st[s]['peak_mb']:.0f}" for s in ("ingest", "dbt", "checks",
                                                                                           "publish"))
            out.append(f"| {scale} | {label}: {'ok' if run.get('ok') else 'failed'} | {run['wall']:.1f} s | "
                       f"{run['cpu']:.1f} s | {run['peak_mb']:.0f} | {cells} |")
    return out


def scaling(runs: dict) -> list[str]:
    out = []
    one, four = runs.get("1", {}).get("full"), runs.get("4", {}).get("full")
    if one and four and one.get("ok") and four.get("ok"):
        tw, tc = four["wall"] / one["wall"], four["cpu"] / one["cpu"]
        pm = four["peak_mb"] / one["peak_mb"]
        out.append(f"- time(scale 4) / time(scale 1): **{tw:.2f}** wall, **{tc:.2f}** CPU (target ≤ 4.4): "
                   f"{_ok(min(tw, tc) <= TARGETS['scale_time'])}")
        out.append(f"- peak memory scale 4 / scale 1: **{pm:.2f}** (target ≤ 1.5): {_ok(pm <= TARGETS['scale_memory'])}")
    else:
        out.append("- time and memory scale 4 / scale 1: not measured in this sitting (see below)")
    for scale, r in runs.items():
        day, full = r.get("new_day"), r.get("full")
        if day and day.get("ok") and full and full.get("ok"):
            w, c = day["wall"] / full["wall"], day["cpu"] / full["cpu"]
            out.append(f"- one new day after the full load at scale {scale} ({day['files']} files): **{w:.3f}** wall, "
                       f"**{c:.3f}** CPU of the full refresh (target ≤ 0.05): {_ok(min(w, c) <= TARGETS['new_day'])}")
        elif day:
            out.append(f"- one new day at scale {scale}: not measured ({day.get('why', 'the run failed')})")
    return out


def render(results: dict, info: dict | None = None) -> str:
    info = info or machine()
    lines = ["## Measured", "",
             f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory']}, {info['os']}, Python "
             f"{info['python']}, commit {info['commit']}.",
             "Versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()) + ".",
             "Load average (1/5/15 min) at the start and end of each sitting: "
             + "; ".join(f"{x['at']} {x['load']}" for x in results.get("load", [])) + ".", ""]
    if results.get("large"):
        lines += ["### Large single files", ""] + large_table(results["large"]) + [""]
    for scale, rows in (results.get("feeds") or {}).items():
        lines += [f"### Per feed, sample scale {scale}", ""] + feed_table(rows, "feed") + [""]
    if results.get("runs"):
        lines += ["### Full runs, per stage (seconds / peak MB of the process tree while the stage ran)", ""]
        lines += runs_table(results["runs"]) + [""] + scaling(results["runs"]) + [""]
    return "\n".join(lines)
