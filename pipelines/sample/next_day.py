"""One more day of the time-series feeds, as the plants send them daily: ``write_next_day``.

For every plant of the sample (same scale and seed as ``sample_truth.json``): an HJ 212-2017 log of the day
(``{plant_id}_{YYYY-MM-DD}.log``: hourly CN=2061 and daily CN=2031 packets of both monitoring points, in send order)
and a lab CSV of the day (``{plant_id}_{厂名}_化验_{YYYY-MM-DD}.csv``, influent and effluent rows). The day is the one
after the last day already written (the sample's period, then each next day in turn); the files are clean (a
normal day), delivered the morning after, and recorded in ``sample_truth.json`` like the rest.

This is the "new day of files" of daily operation and of its measurement (``pipelines/bench/new_day.py``).
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np

from pipelines.contracts import load_contracts
from pipelines.home import DataHome
from pipelines.sample.common import csv_template, write_table
from pipelines.sample.context import Context
from pipelines.sample.geo import Projector
from pipelines.sample.places import DISTRICT_BY_CODE
from pipelines.sample.plants import (LAB_COLUMNS, _lab_records, _lab_sheet, _point_packets, daily, make_plants)
from pipelines.sample.truth import Truth


def _last_day(truth: dict) -> dt.date:
    stats = truth.get("stats", {})
    days = [dt.date.fromisoformat(stats["period"][1])] + [dt.date.fromisoformat(d) for d in stats.get("next_days", [])]
    return max(days)


def write_next_day(home: Path, day: dt.date | None = None) -> list[Path]:
    """Write the next day's plant_online and plant_lab files into ``landing/``; returns their paths."""
    data_home = DataHome.resolve(home)
    recorded = json.loads(data_home.sample_truth.read_text(encoding="utf-8"))
    day = day or _last_day(recorded) + dt.timedelta(days=1)
    scale, seed = recorded["generator"]["scale"], recorded["generator"]["seed"]
    truth = Truth(scale=scale, seed=seed)
    projector = Projector()
    ctx = Context(home=data_home, scale=scale, seed=seed, contracts=load_contracts(), truth=truth,
                  projector=projector)
    written: list[Path] = []
    try:
        days = np.array([np.datetime64(day)])
        for plant in make_plants(ctx):
            pid = plant["plant_id"]
            series = daily(ctx, plant, days)
            # lab: the plant's own template and labels (same seeded streams as its monthly files)
            district = DISTRICT_BY_CODE[plant["district"]]
            template = csv_template(ctx, "plant_lab", LAB_COLUMNS, ctx.rng("plant_lab", pid, "tpl"), district.encoding)
            labels = (("进水", "出水"), ("进口", "出口"))[int(ctx.rng("plant_lab", pid, "lbl").integers(0, 2))]
            rng = ctx.rng("plant_lab", pid, str(day))
            sheet = _lab_sheet(pid, _lab_records(series, np.array([0]), days, rng), template, labels, rng)
            path, _ = write_table(ctx, "plant_lab", f"{pid}_{plant['name']}_化验_{day}.csv", template, sheet,
                                  day + dt.timedelta(days=1))
            written.append(path)
            # online: both monitoring points, hourly and daily packets, in send order
            rng = ctx.rng("plant_online", pid, str(day))
            parts = [_point_packets(rng, mn, point, days, series)
                     for point, mn in enumerate((plant["inlet_mn"], plant["outlet_mn"]))]
            send = np.concatenate([p[0] for p in parts])
            text = np.concatenate([p[1] for p in parts])[np.lexsort((np.arange(len(send)), send))]
            path, file_truth = ctx.new_file("plant_online", f"{pid}_{day}.log", "log", encoding="ascii")
            path.write_bytes("".join(text.tolist()).encode("ascii"))
            file_truth.data_rows = len(text)
            ctx.delivered(path, day + dt.timedelta(days=1))
            written.append(path)
    finally:
        projector.close()
    recorded["files"] = sorted(recorded["files"] + [f.as_json() for f in truth.files], key=lambda f: f["path"])
    stats = recorded.setdefault("stats", {})
    stats["next_days"] = sorted(set(stats.get("next_days", [])) | {day.isoformat()})
    data_home.sample_truth.write_text(json.dumps(recorded, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return written
