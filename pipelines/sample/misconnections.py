"""misconnections: storm/sewage cross-connections found by the survey (CSV per district and year),
with a later status update (更正) in some districts.

Located at a census manhole (most), a segment, or both; old districts with combined sewers have
more. Rectification status follows the time since the point was found.
"""
from __future__ import annotations

import datetime as dt

import numpy as np

from pipelines.sample import mess
from pipelines.sample.census import Census
from pipelines.sample.common import csv_template, days_between, record_correction, text_date_style, write_table
from pipelines.sample.context import Context
from pipelines.sample.mess import fmt_district
from pipelines.sample.permits import _swap_dates
from pipelines.sample.places import AS_OF
from pipelines.sample.table import Sheet, Spoil, present

COLUMNS = ["misconnection_id", "segment_id", "manhole_id", "misconnection_type", "severity", "found_on",
           "rectification_status", "rectified_on", "district_code"]
# DOMAIN.md lists no 区县 for the misconnection list: most districts' lists have none (the district is derived
# downstream from the segment or manhole); some add one.
DISTRICT_COLUMN_SHARE = 0.4
TYPES = ("雨水接入污水", "污水接入雨水", "阳台水接入雨水", "合流接入污水")
SEVERITY = ("重度", "中度", "轻度")
STATUS = ("已整改", "整改中", "未整改")


def write_misconnections(ctx: Context, census: Census, count: int) -> None:
    net = census.net
    d = net.district
    if count <= 0 or net.n_segments == 0:
        return
    rng = ctx.rng("misconnections", d.code)
    seg_rows = rng.choice(np.flatnonzero(~census.absent_segment), size=count)
    node = net.seg_node[seg_rows]
    where = rng.choice(3, size=count, p=[0.7, 0.2, 0.1])       # manhole / segment / both
    ok_node = ~census.missing_manhole[node]
    where = np.where(ok_node, where, 1)                        # unsurveyed manhole: cite the segment
    manhole = np.where(where != 1, census.node_ids[node], None).astype(object)
    segment = np.where(where != 0, census.seg_ids[seg_rows], None).astype(object)
    orphan = rng.random(count) < 0.005
    orphan_ids = np.array([f"WS{d.code}9{k:05d}" for k in rng.integers(0, 99999, count)], dtype=object)
    manhole = np.where(orphan, orphan_ids, manhole)
    found = np.sort(days_between(rng, dt.date(2023, 6, 1), AS_OF - dt.timedelta(days=3), count))
    age = (np.datetime64(AS_OF) - found).astype(int)
    p_done = np.clip(age / 500, 0.05, 0.9)
    u = rng.random(count)
    status = np.where(u < p_done, 0, np.where(u < p_done + 0.15, 1, 2))
    rectified = np.where(status == 0, found + np.minimum(rng.integers(15, 300, count), np.maximum(age, 1))
                         .astype("timedelta64[D]"), np.datetime64("NaT"))
    severity = rng.choice(3, size=count, p=[0.15, 0.35, 0.5])
    kind = rng.choice(4, size=count, p=[0.4, 0.35, 0.15, 0.1])
    mis_id = np.array([f"HJ{d.code}{k + 1:05d}" for k in range(count)], dtype=object)
    records = dict(misconnection_id=mis_id, segment_id=segment, manhole_id=manhole, kind=kind, severity=severity,
                   found=found, status=status, rectified=rectified, orphan=orphan)

    with_district = ctx.rng("misconnections", d.code, "district column").random() < DISTRICT_COLUMN_SHARE
    columns = COLUMNS if with_district else [c for c in COLUMNS if c != "district_code"]
    template = csv_template(ctx, "misconnections", columns, ctx.rng("misconnections", d.code, "tpl"), d.encoding)
    template.extra["columns"] = columns
    year = found.astype("datetime64[Y]").astype(int) + 1970
    clean = []
    for y in sorted(set(year.tolist())):
        at = np.flatnonzero(year == y)
        frng = ctx.rng("misconnections", d.code, y)
        sheet = _sheet(records, at, template, frng, d.code)
        ctx.plan("misconnections", _menu(ctx, template)).apply(sheet, frng)
        name = f"{d.code}_{d.name}_雨污混接_{y}.csv"
        when = min(dt.date(y, 12, 31), AS_OF) + dt.timedelta(days=6)
        path, truth = write_table(ctx, "misconnections", name, template, sheet, when)
        clean += [(int(at[i]), truth.path) for i in np.flatnonzero(sheet.free()) if status[at[i]] != 0]

    # status update: open points since rectified
    crng = ctx.rng("misconnections", d.code, "correction")
    if clean and crng.random() < 0.5:
        k = max(1, int(round(0.05 * len(clean))))
        picks = sorted(crng.choice(len(clean), size=min(k, len(clean)), replace=False))
        idx = np.array([clean[p][0] for p in picks])
        fixed = {key: np.array(val, copy=True) for key, val in records.items()}
        fixed["status"][idx] = 0
        fixed["rectified"][idx] = np.maximum(fixed["found"][idx] + 10, np.datetime64(AS_OF) - 3)
        sheet = _sheet(fixed, idx, template, crng, d.code)
        name = f"{d.code}_{d.name}_雨污混接_2025更正.csv"
        path, truth = write_table(ctx, "misconnections", name, template, sheet, dt.date(2025, 7, 8))
        record_correction(ctx, "misconnections", truth, [[str(mis_id[i])] for i in idx],
                          [clean[p][1] for p in picks])


def _sheet(rec, at, template, rng, code) -> Sheet:
    cells = {
        "misconnection_id": rec["misconnection_id"][at],
        "segment_id": rec["segment_id"][at],
        "manhole_id": rec["manhole_id"][at],
        "misconnection_type": [TYPES[k] for k in rec["kind"][at]],
        "severity": [SEVERITY[k] for k in rec["severity"][at]],
        "found_on": template.dates(rng, rec["found"][at]),
        "rectification_status": [STATUS[k] for k in rec["status"][at]],
        "rectified_on": template.dates(rng, rec["rectified"][at]),
        "district_code": [fmt_district(code, template.district_style) for _ in at],
    }
    columns = template.extra.get("columns", COLUMNS)
    sheet = Sheet(columns, {k: cells[k] for k in columns})
    for i in np.flatnonzero(rec["orphan"][at]):
        sheet.anomaly(i, "orphan_reference", "manhole_id")
    return sheet


def _menu(ctx: Context, template) -> list[Spoil]:
    col = ctx.contracts["misconnections"].column
    return [
        mess.spoil_required("misconnection_type"), mess.spoil_required("severity"),
        mess.spoil_enum(col("misconnection_type")), mess.spoil_enum(col("severity")),
        mess.spoil_enum(col("rectification_status")),
        # neither a segment nor a manhole: the row rule names its last field
        Spoil("manhole_id", "required", apply=_clear_location),
        Spoil("rectified_on", "date_order", apply=_swap_dates("found_on", "rectified_on", text_date_style(template)),
              eligible=lambda s: present(s, "rectified_on")),
    ]


def _clear_location(sheet: Sheet, i: int, rng) -> None:
    sheet.cells["segment_id"][i] = None
    sheet.cells["manhole_id"][i] = None
