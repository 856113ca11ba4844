"""Entry point: write the sample feeds (every feed of ``FEEDS``) into ``landing/`` and ``sample_truth.json``.

Work is streamed district by district (network → census → inspections → misconnections →
drainage permits → projects), then the city-wide feeds (discharge permits, enforcement, the
plant registry) and plant by plant, month by month (lab, HJ 212 logs). Only small registries
(permit holders, plants) are kept across steps, so memory stays flat as the scale grows.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
from tqdm import tqdm

from pipelines.contracts import FEEDS, load_contracts
from pipelines.home import DataHome
from pipelines.sample import network
from pipelines.sample.census import write_census
from pipelines.sample.context import Context
from pipelines.sample.enforcement import write_enforcement
from pipelines.sample.geo import Projector
from pipelines.sample.inspections import write_inspections
from pipelines.sample.misconnections import write_misconnections
from pipelines.sample.permits import write_discharge_permits, write_drainage_permits
from pipelines.sample.places import DISTRICTS
from pipelines.sample.plants import (daily, make_plants, monitoring_days, period, write_lab, write_online,
                                     write_registry)
from pipelines.sample.projects import write_projects
from pipelines.sample.tasks import write_task_progress
from pipelines.sample.rand import allocate
from pipelines.sample.truth import Truth

# Scale 1 = one city-year (issue 2, point 7).
SEGMENTS_AT_SCALE_1 = 120_000
DRAINAGE_PERMITS_AT_SCALE_1 = 20_000
DISCHARGE_PERMITS_AT_SCALE_1 = 3_000
ENFORCEMENT_CASES_AT_SCALE_1 = 10_000
PROJECTS_AT_SCALE_1 = 2_000
MISCONNECTIONS_AT_SCALE_1 = 5_000


def _landing_files(home: DataHome) -> list[Path]:
    if not home.landing.exists():
        return []
    return [p for p in home.landing.rglob("*") if p.is_file()]


def generate(home: Path, scale: float = 0.01, seed: int = 42, progress: bool = True, force: bool = False) -> dict:
    """Write the sample bureau exports of ``scale`` (1 = one city-year) into ``home/landing/<feed>/``
    and ``home/sample_truth.json``; return the truth. Refuses to write over existing landing files
    unless ``force`` (then the feed folders are emptied first; other files in landing/ stay)."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    data_home = DataHome.resolve(home)
    existing = _landing_files(data_home)
    if existing and not force:
        raise FileExistsError(
            f"landing 目录已有 {len(existing)} 个文件，拒绝覆盖 (landing already holds {len(existing)} files; "
            f"pass force=True to replace them): {data_home.landing}")
    if force:
        for feed in FEEDS:
            shutil.rmtree(data_home.landing_for(feed), ignore_errors=True)
        if data_home.sample_truth.exists():
            data_home.sample_truth.unlink()
    data_home.ensure()
    for feed in FEEDS:
        data_home.landing_for(feed).mkdir(parents=True, exist_ok=True)

    projector = Projector()
    truth = Truth(scale=scale, seed=seed)
    ctx = Context(home=data_home, scale=scale, seed=seed, contracts=load_contracts(), truth=truth,
                  projector=projector)
    try:
        plants = make_plants(ctx)
        weights = [d.weight for d in DISTRICTS]
        segments = np.maximum(allocate(round(SEGMENTS_AT_SCALE_1 * scale), weights), 20)
        drainage = allocate(round(DRAINAGE_PERMITS_AT_SCALE_1 * scale), weights)
        projects = allocate(round(PROJECTS_AT_SCALE_1 * scale), weights)
        misconnections = allocate(round(MISCONNECTIONS_AT_SCALE_1 * scale),
                                  [d.weight * (1 + 2 * d.combined_share) for d in DISTRICTS])
        total_steps = len(DISTRICTS) + 4 + len(plants)
        ctx.bar = tqdm(total=total_steps, desc="sewershare sample", unit="step", disable=not progress,
                       dynamic_ncols=True)
        inspected = {}
        for i, d in enumerate(DISTRICTS):
            own = [p for p in plants if p["district"] == d.code]
            to_xy = lambda lon, lat: tuple(float(v[0]) for v in projector.to_xy(lon, lat))  # noqa: E731
            net = network.build(ctx.rng("network", d.code), d, int(segments[i]), own, to_xy)
            census = write_census(ctx, net)
            for plant, root in zip(own, net.roots):
                plant["inlet_manhole_id"] = str(census.node_ids[root])
            problems = write_inspections(ctx, census)
            in_census = ~census.absent_segment
            inspected[d.code] = {"segments": int(in_census.sum()),
                                 "length_m": round(float(net.length[in_census].sum()), 1),
                                 "inspected_length_m": round(problems.get("inspected_length_m", 0.0), 1),
                                 "problem_segments": int(len(problems["segments"])),
                                 "network_gaps": int(census.absent_segment.sum())}
            write_misconnections(ctx, census, int(misconnections[i]))
            write_drainage_permits(ctx, census, int(drainage[i]))
            write_projects(ctx, census, problems, int(projects[i]))
            del net, census, problems
            ctx.step(d.name)
        write_discharge_permits(ctx, round(DISCHARGE_PERMITS_AT_SCALE_1 * scale), plants)
        ctx.step("排污许可")
        write_enforcement(ctx, round(ENFORCEMENT_CASES_AT_SCALE_1 * scale))
        ctx.step("执法记录")
        write_registry(ctx, plants)
        ctx.step("厂站名录")
        write_task_progress(ctx)
        ctx.step("任务进展")
        days = period(scale)
        for plant in plants:
            series = daily(ctx, plant, days)
            write_lab(ctx, plant, days, series)
            write_online(ctx, plant, days, series)
            ctx.step(plant["plant_id"])
        truth.stats = {
            "plants": len(plants), "monitoring_days": monitoring_days(scale),
            "period": [str(days[0]), str(days[-1])], "districts": inspected,
            "data_rows": {feed: sum(f.data_rows for f in truth.files if f.feed == feed) for feed in FEEDS},
            "files": {feed: sum(1 for f in truth.files if f.feed == feed) for feed in FEEDS},
        }
        data = truth.write(data_home.sample_truth)
    finally:
        if ctx.bar is not None:
            ctx.bar.close()
        projector.close()
    os.utime(data_home.sample_truth, (1751331600, 1751331600))   # 2025-07-01, after every file
    return data
