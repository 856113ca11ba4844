"""``sewershare bench`` (and ``make benchmark``): the measurements of issue 13, written into docs/benchmark.md."""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from pipelines.home import REPO_ROOT

BEGIN, END = "<!-- bench:begin (written by `sewershare bench`) -->", "<!-- bench:end -->"


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(x) for x in text.split(",") if x.strip()) if text else ()


def _large(text: str) -> dict:
    from pipelines.bench.bigfiles import LARGE

    if text in ("", "none"):
        return {}
    if text == "default":
        return dict(LARGE)
    out = {}
    for part in text.split(","):
        feed, _, rows = part.partition("=")
        out[feed.strip()] = int(float(rows)) if rows else LARGE[feed.strip()]
    return out


def write_doc(path: Path, section: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else f"# Benchmark\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text:
        text += f"\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1] if END in rest else ""
    path.write_text(f"{head}{BEGIN}\n{section}\n{END}{tail}", encoding="utf-8")


def cmd_bench(args: argparse.Namespace) -> int:
    from pipelines.bench.report import render
    from pipelines.bench.suite import run_bench

    workdir = Path(args.workdir or Path(tempfile.gettempdir()) / "sewershare-bench")
    previous = None
    if args.resume and (workdir / "results.json").exists():
        previous = json.loads((workdir / "results.json").read_text())
    if not args.render_only:
        results = run_bench(workdir, scales=_floats(args.scales), feed_scales=_floats(args.feed_scales),
                            large=_large(args.large), repeat=args.repeat,
                            new_day_scale=args.new_day_scale if args.new_day_scale >= 0 else None,
                            feeds=args.feeds.split(",") if args.feeds else None, results=previous)
    else:
        results = previous or json.loads((workdir / "results.json").read_text())
    section = render(results)
    print(section)
    if args.out:
        write_doc(Path(args.out), section)
        print(f"sewershare bench: 已写入 {args.out} (written)")
    return 0


def add_parser(sub) -> None:
    bench = sub.add_parser("bench", help="benchmark: ingest vs DuckDB alone vs pandas + GE, full runs per stage, "
                                         "scales, one new day → docs/benchmark.md")
    bench.add_argument("--workdir", help="samples, large files and results.json (default: $TMPDIR/sewershare-bench)")
    bench.add_argument("--scales", default="0.1,1,4", help="full runs per stage at these sample scales")
    bench.add_argument("--feed-scales", default="1", help="per-feed ingest vs DuckDB alone at these scales")
    bench.add_argument("--large", default="default",
                       help="large single files: default | none | feed=rows,… (plant_lab, inspections, plant_online)")
    bench.add_argument("--repeat", type=int, default=2, help="best of N for each comparison")
    bench.add_argument("--new-day-scale", type=float, default=1.0, help="scale of the new-day run (-1: none)")
    bench.add_argument("--feeds", default="", help="only these feeds in the per-feed comparison")
    bench.add_argument("--out", default=str(REPO_ROOT / "docs" / "benchmark.md"),
                       help="markdown file whose measured section is replaced ('' to only print)")
    bench.add_argument("--resume", action="store_true", help="extend the results.json of the workdir")
    bench.add_argument("--render-only", action="store_true", help="only render the workdir's results.json")
    bench.set_defaults(func=cmd_bench)
