"""upgrade_projects: 建设局's ledger of network upgrade projects (.xlsx per district), with a
later update (更正) in some districts.

Repair and separation projects list real problem segments of their district (segments whose
inspection found a structural defect of grade 3–4, i.e. CJJ 181 grade III–IV), street by street.
How far a district has got (share of problem segments in completed/accepted projects) follows
places.District.upgrade_done; every status appears.
"""
from __future__ import annotations

import datetime as dt

import numpy as np

from pipelines.sample import mess
from pipelines.sample.census import Census
from pipelines.sample.common import person, record_correction, write_table, xlsx_template
from pipelines.sample.context import Context
from pipelines.sample.mess import fmt_district
from pipelines.sample.permits import _swap_dates
from pipelines.sample.places import AS_OF
from pipelines.sample.table import Sheet, Spoil, present

COLUMNS = ["project_id", "project_name", "district_code", "project_type", "segment_ids", "planned_start_on",
           "actual_start_on", "planned_completion_on", "actual_completion_on", "investment_yuan", "funding_source",
           "status"]
TYPES = ("管网修复", "雨污分流", "新建", "泵站改造")
TYPE_LABELS = (("管网修复",), ("雨污分流",), ("新建", "管网新建"), ("泵站改造",))
FUNDING = ("本级财政", "专项债", "以奖代补", "社会资本", "财政资金")
# planning (前期/未开工), under construction, completed, accepted, suspended
STATUS_LABELS = (("前期", "未开工"), ("在建",), ("已完工",), ("已验收",), ("暂停",))
SEPARATORS = ("、", ",", "；", "，", ";")


def write_projects(ctx: Context, census: Census, problems: dict, count: int) -> None:
    d = census.net.district
    if count <= 0:
        return
    rng = ctx.rng("upgrade_projects", d.code)
    kind = rng.choice(4, size=count, p=[0.6, 0.2, 0.12, 0.08])
    done = rng.random(count) < d.upgrade_done
    # Repair and separation projects share out all the problem segments found, street by street in
    # the order they were found; exactly the district's upgrade_done share of them are finished, and
    # those take the earliest finds. The share of problem segments in finished projects is then
    # about upgrade_done (KPI: 70% by 2025), ahead in some districts and behind in others.
    seg_pool = np.asarray(problems["segments"], dtype=object)
    pool_dates = np.asarray(problems["dates"])
    listing = np.flatnonzero(np.isin(kind, (0, 1)))
    done[listing] = np.arange(len(listing)) < round(d.upgrade_done * len(listing))
    status = np.where(done, np.where(rng.random(count) < 0.5, 2, 3),
                      rng.choice([0, 1, 4], size=count, p=[0.35, 0.55, 0.10]))
    lists: list[list[str]] = [[] for _ in range(count)]
    first_date: list = [None] * count
    if len(listing) and len(seg_pool):
        listing = listing[: len(seg_pool)]
        shares = rng.dirichlet(np.full(len(listing), 4.0))
        sizes = np.maximum(np.floor(shares * len(seg_pool)).astype(int), 1)
        sizes[-1] = max(len(seg_pool) - sizes[:-1].sum(), 0)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        for j, start, size in zip(listing, starts, sizes):
            if size > 0 and start < len(seg_pool):
                lists[j] = [str(x) for x in seg_pool[start:start + size]]
                first_date[j] = pool_dates[start:start + size].min()
    # a repair project left without segments (more projects than problems) builds new sewers instead
    kind = np.where(np.isin(kind, (0, 1)) & np.array([not x for x in lists]), 2, kind)
    today = np.datetime64(AS_OF)
    n = count
    # a repair cannot start before the inspection that found its problem (+20 days)
    earliest = np.array([first + 20 if first is not None else today - 2000 for first in first_date],
                        dtype="datetime64[D]")
    # every status appears: the least constrained projects of each district take them in turn
    # (the rotation differs by district so that tiny samples still show all five city-wide)
    forced = np.argsort(earliest, kind="stable")[: min(n, 5)]
    offset = int(d.code[-2:]) % 5
    status[forced] = (np.arange(len(forced)) + offset) % 5

    planned_start = np.empty(n, dtype="datetime64[D]")
    planned_end = np.empty(n, dtype="datetime64[D]")
    actual_start = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    actual_end = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")

    def between(lo, hi):
        return lo + int(rng.integers(0, int((hi - lo).astype(int)) + 1))

    for i in range(n):
        lo = earliest[i]
        if status[i] in (2, 3) and lo > today - 70:
            status[i] = 1                             # found too recently to be finished
        if status[i] in (1, 4) and lo > today - 10:
            status[i] = 0                             # found too recently to have started
        s_ = status[i]
        if s_ in (2, 3):
            actual_start[i] = between(max(lo, today - 850), today - 70)
            actual_end[i] = actual_start[i] + int(rng.integers(60, int((today - actual_start[i]).astype(int)) + 1))
        elif s_ in (1, 4):
            actual_start[i] = between(max(lo, today - 420), today - 10)
        if s_ == 0:
            planned_start[i] = max(today + int(rng.integers(-60, 300)), lo)
        else:
            planned_start[i] = max(actual_start[i] - int(rng.integers(-20, 60)), lo)
        planned_end[i] = planned_start[i] + int(rng.integers(90, 540))

    length_m = np.array([31.0 * len(x) for x in lists])
    base = np.select([kind == 0, kind == 1, kind == 2], [0.45 * length_m + 20, 200 + 0.8 * length_m, 300.0],
                     150.0)
    investment = np.round(base * rng.lognormal(0, 0.5, n), 1)
    records = dict(kind=kind, lists=lists, status=status, planned_start=planned_start, planned_end=planned_end,
                   actual_start=actual_start, actual_end=actual_end, investment=investment,
                   funding=rng.choice(len(FUNDING), size=n, p=[0.35, 0.3, 0.15, 0.1, 0.1]))
    year = planned_start.astype("datetime64[Y]").astype(int) + 1970
    records["project_id"] = np.array([f"GW{d.code}-{y}-{i + 1:03d}" for i, y in enumerate(year)], dtype=object)
    roads = census.roads
    seg_index = {s: i for i, s in enumerate(census.seg_ids)}
    names = []
    for i in range(n):
        if lists[i]:
            road = roads[census.net.run[census.net.seg_node[seg_index[lists[i][0]]]]]
            names.append(f"{road}污水管网{('修复', '雨污分流改造')[kind[i]]}工程")
        elif kind[i] == 2:
            names.append(f"{d.short}{('城东', '城西', '城南', '城北', '园区')[i % 5]}片区污水管网新建工程（{i + 1}期）")
        else:
            names.append(f"{d.short}第{i + 1}号污水泵站提升改造工程")
    records["name"] = np.array(names, dtype=object)
    # a few lists cite a segment that no census has
    orphan = np.array([bool(x) and rng.random() < 0.01 for x in lists])
    for i in np.flatnonzero(orphan):
        lists[i] = lists[i] + [f"GD{d.code}9{int(rng.integers(0, 99999)):05d}"]
    records["orphan"] = orphan

    template = xlsx_template(ctx, "upgrade_projects", COLUMNS, ctx.rng("upgrade_projects", d.code, "tpl"))
    template.extra["sep"] = SEPARATORS[int(rng.integers(0, len(SEPARATORS)))]
    template.extra["unit_text_share"] = (0.0, 0.2)[int(rng.integers(0, 2))]
    idx = np.arange(n)
    sheet = _sheet(records, idx, template, rng, d.code)
    ctx.plan("upgrade_projects", _menu(ctx, template)).apply(sheet, rng)
    name = f"{d.code}_{d.name}_管网改造项目台账_2025-06.xlsx"
    title = f"{d.name}污水管网提升改造项目台账（截至2025年6月底）"
    remarks = f"填报人：{person(rng)}    审核人：{person(rng)}    备注：总投资单位为万元。"
    path, truth = write_table(ctx, "upgrade_projects", name, template, sheet, dt.date(2025, 7, 2), title=title,
                              remarks=remarks, spacer=rng.random() < 0.5)

    crng = ctx.rng("upgrade_projects", d.code, "correction")
    movable = [i for i in np.flatnonzero(sheet.free()) if status[i] in (0, 1)]
    if movable and crng.random() < 0.5:
        k = max(1, int(round(0.05 * len(movable))))
        picks = sorted(crng.choice(len(movable), size=min(k, len(movable)), replace=False))
        idx = np.array([movable[p] for p in picks])
        fixed = {key: (np.array(val, copy=True) if not isinstance(val, list) else list(val))
                 for key, val in records.items()}
        for i in idx:
            if fixed["status"][i] == 0:             # work started
                fixed["status"][i] = 1
                fixed["actual_start"][i] = today - 2
                fixed["planned_start"][i] = min(fixed["planned_start"][i], today - 2)
                fixed["planned_end"][i] = max(fixed["planned_end"][i], fixed["planned_start"][i] + 90)
            else:                                    # finished
                fixed["status"][i] = 2
                fixed["actual_end"][i] = max(today, fixed["actual_start"][i] + 1)
        sheet = _sheet(fixed, idx, template, crng, d.code)
        name = f"{d.code}_{d.name}_管网改造项目台账_2025-07更正.xlsx"
        path, truth = write_table(ctx, "upgrade_projects", name, template, sheet, dt.date(2025, 7, 12),
                                  title=title.replace("6月底", "7月10日") + "（更正）", remarks=remarks)
        record_correction(ctx, "upgrade_projects", truth, [[str(records["project_id"][i])] for i in idx],
                          [truth_path(ctx, "upgrade_projects", f"{d.code}_{d.name}_管网改造项目台账_2025-06.xlsx")])


def truth_path(ctx: Context, feed: str, name: str) -> str:
    return (ctx.home.landing_for(feed) / name).relative_to(ctx.home.root).as_posix()


def _sheet(rec, at, template, rng, code) -> Sheet:
    sep = template.extra["sep"]
    unit_share = template.extra["unit_text_share"]

    def money(v):
        if rng.random() < unit_share:
            return f"{v:g}万元"
        return float(v)

    dates = {k: template.dates(rng, rec[k][at], mess.XLSX_DATE_STYLES)
             for k in ("planned_start", "actual_start", "planned_end", "actual_end")}
    cells = {
        "project_id": rec["project_id"][at],
        "project_name": rec["name"][at],
        "district_code": [fmt_district(code, template.district_style) for _ in at],
        "project_type": [TYPE_LABELS[k][i % len(TYPE_LABELS[k])] for i, k in enumerate(rec["kind"][at])],
        "segment_ids": [sep.join(rec["lists"][i]) or None for i in at],
        "planned_start_on": dates["planned_start"],
        "actual_start_on": dates["actual_start"],
        "planned_completion_on": dates["planned_end"],
        "actual_completion_on": dates["actual_end"],
        "investment_yuan": [money(v) for v in rec["investment"][at]],
        "funding_source": [FUNDING[k] for k in rec["funding"][at]],
        "status": [STATUS_LABELS[s][i % len(STATUS_LABELS[s])] for i, s in enumerate(rec["status"][at])],
    }
    sheet = Sheet(COLUMNS, cells)
    for j, i in enumerate(at):
        if rec["orphan"][i]:
            sheet.anomaly(j, "orphan_reference", "segment_ids")
    return sheet


def _menu(ctx: Context, template) -> list[Spoil]:
    col = ctx.contracts["upgrade_projects"].column
    style = template.date_style if template.date_style in mess.TEXT_DATE_STYLES else "iso"
    return [
        mess.spoil_required("project_name"), mess.spoil_required("district_code"), mess.spoil_required("status"),
        mess.spoil_enum(col("project_type")), mess.spoil_enum(col("status")), mess.spoil_enum(col("funding_source")),
        Spoil("investment_yuan", "range", lambda r, s, i: -round(float(r.uniform(1, 500)), 1)),
        mess.spoil_type(col("investment_yuan")),
        Spoil("planned_completion_on", "date_order", apply=_swap_dates("planned_start_on", "planned_completion_on",
                                                                       style)),
        Spoil("actual_completion_on", "date_order", apply=_swap_dates("actual_start_on", "actual_completion_on", style),
              eligible=lambda s: present(s, "actual_completion_on")),
    ]
