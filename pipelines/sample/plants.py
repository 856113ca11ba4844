"""plants (建设局 registry, CSV), plant_lab (daily lab CSV per plant and month) and plant_online
(HJ 212-2017 packet logs, one file per plant and month holding both monitoring points, hourly
CN=2061 and daily CN=2031 packets, one packet per line, CRLF).

Plants: every district has at least one (the first ten of places.PLANT_CATALOGUE), so every
catchment tree drains to a plant of its own district; more plants join as the scale grows:
``n_plants = max(10, round(40 × scale))``. The monitoring period ends on the reporting date and
lasts ``clamp(round(365 × 40 × scale / n_plants), 31, 365)`` days, so packet volume grows
linearly with the scale between the floors (≥ 31 days: a month or more even at scale 0.01).

Influent: BOD5 per plant mostly 100–180 mg/L, a third of the town plants diluted below 100;
seasonal swing (lowest in the plum-rain/typhoon months), AR(1) day-to-day noise and rain
dilution (calibration.py: uci-wwtp CV and autocorrelation, COD/BOD5 ≈ 2.2). Effluent mostly
within the plant's standard with a few exceedance days a year. Data flags M/C/D on ~3% of hours.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.hj212 import crc_many
from pipelines.sample import calibration as cal
from pipelines.sample import mess
from pipelines.sample.common import csv_template, record_correction, write_table
from pipelines.sample.context import Context
from pipelines.sample.mess import fmt_district
from pipelines.sample.places import AS_OF, DISTRICT_BY_CODE, PLANT_CATALOGUE, District
from pipelines.sample.table import Sheet

REGISTRY_COLUMNS = ["plant_id", "plant_name", "district_code", "plant_type", "design_capacity_m3d", "standard",
                    "standard_effective_from", "commissioned_on", "inlet_mn", "outlet_mn", "inlet_manhole_id",
                    "longitude", "latitude"]
# Zhejiang's DB33/2169-2018 (and the 准地表水IV类 upgrades under it) apply from 2019 (seed water_quality_limits)
DB33_FROM = dt.date(2019, 1, 1)
LAB_COLUMNS = ["plant_id", "sampled_on", "sampling_point", "bod5_mg_l", "cod_mg_l", "ss_mg_l", "nh3n_mg_l",
               "tn_mg_l", "tp_mg_l"]
# label in the registry → effluent limits (COD, NH3-N, TN, TP) in mg/L (DOMAIN.md §7, warm period)
STANDARDS = {
    "DB33/2169-2018 现有": (40, 2.0, 12, 0.3),
    "准地表水IV类": (30, 1.5, 10, 0.3),
    "DB33/2169-2018 新建": (30, 1.5, 10, 0.3),
    "GB 18918-2002 一级A": (50, 5.0, 15, 0.5),
    "一级A": (50, 5.0, 15, 0.5),
}
FACTORS = ("w00000", "w01001", "w01018", "w21003", "w21001", "w21011")   # flow, pH, COD, NH3-N, TN, TP
DECIMALS = (2, 2, 1, 3, 2, 3)
HEX4 = np.array([f"{i:04X}" for i in range(65536)], dtype=object)
CORRUPT_RATE = 0.0025
DUPLICATE_PACKET_RATE = 0.001


def plant_count(scale: float) -> int:
    return max(10, int(round(40 * scale)))


def monitoring_days(scale: float) -> int:
    return int(np.clip(round(365 * 40 * scale / plant_count(scale)), 31, 365))


def make_plants(ctx: Context) -> list[dict]:
    n = plant_count(ctx.scale)
    catalogue = list(PLANT_CATALOGUE)
    k = 0
    while len(catalogue) < n:                      # beyond scale 1: further plants, district by district
        code = PLANT_CATALOGUE[k % 10][1]
        catalogue.append((f"{DISTRICT_BY_CODE[code].short}第{len(catalogue) // 10 + 1}污水处理厂", code, 2.0))
        k += 1
    plants = []
    per_district: dict[str, int] = {}
    for name, code, capacity in catalogue[:n]:
        rng = ctx.rng("plants", name)
        d = DISTRICT_BY_CODE[code]
        seq = per_district[code] = per_district.get(code, 0) + 1
        industrial = "工业" in name
        angle = rng.uniform(0, 2 * np.pi)
        radius = rng.uniform(1500, 4000)
        cx, cy = ctx.projector.to_xy(d.lon, d.lat)
        x, y = float(cx[0] + radius * np.cos(angle)), float(cy[0] + radius * np.sin(angle))
        lon, lat = ctx.projector.to_lonlat(x, y)
        if industrial:
            standard = ("GB 18918-2002 一级A", "DB33/2169-2018 新建")[int(rng.integers(0, 2))]
        else:
            standard = ("DB33/2169-2018 现有", "DB33/2169-2018 现有", "准地表水IV类", "一级A")[int(rng.integers(0, 4))]
        low_bod = (not industrial) and rng.random() < 0.33
        plants.append({
            "plant_id": f"P{code}{seq:02d}", "name": name, "district": code, "capacity": capacity,
            "industrial": industrial, "standard": standard, "limits": STANDARDS[standard],
            "commissioned": dt.date(int(rng.integers(1998, 2021)), int(rng.integers(1, 13)), int(rng.integers(1, 28))),
            "inlet_mn": f"TZ{code}{seq:02d}WS001", "outlet_mn": f"TZ{code}{seq:02d}WS002",
            "x": x, "y": y, "lon": float(lon[0]), "lat": float(lat[0]),
            "bod_level": float(rng.uniform(62, 96) if low_bod else rng.uniform(105, 180) if not industrial
                               else rng.uniform(120, 220)),
            "load": float(rng.uniform(0.65, 0.95)),
        })
    return plants


def write_registry(ctx: Context, plants: list[dict]) -> None:
    rng = ctx.rng("plants", "registry")
    template = csv_template(ctx, "plants", REGISTRY_COLUMNS, rng, "utf-8-sig")
    type_label = {False: ("城镇", "城镇污水处理厂"), True: ("工业园区", "工业")}
    cells = {
        "plant_id": [p["plant_id"] for p in plants],
        "plant_name": [p["name"] for p in plants],
        "district_code": [fmt_district(p["district"], template.district_style) for p in plants],
        "plant_type": [type_label[p["industrial"]][int(rng.integers(0, 2))] for p in plants],
        "design_capacity_m3d": [f"{p['capacity']:g}" for p in plants],     # 万m³/d (the column's source unit)
        "standard": [p["standard"] for p in plants],
        "standard_effective_from": template.dates(rng, np.array([np.datetime64(
            max(p["commissioned"], DB33_FROM) if not p["standard"].endswith("一级A") else p["commissioned"])
            for p in plants])),
        "commissioned_on": template.dates(rng, np.array([np.datetime64(p["commissioned"]) for p in plants])),
        "inlet_mn": [p["inlet_mn"] for p in plants],
        "outlet_mn": [p["outlet_mn"] for p in plants],
        "inlet_manhole_id": [p["inlet_manhole_id"] for p in plants],
        "longitude": [f"{p['lon']:.6f}" for p in plants],
        "latitude": [f"{p['lat']:.6f}" for p in plants],
    }
    sheet = Sheet(REGISTRY_COLUMNS, cells)
    # The registry stays clean: every packet, lab row and permit points at it.
    write_table(ctx, "plants", "台州市城镇及工业园区污水处理厂名录_2025.csv", template, sheet, dt.date(2025, 1, 15))


# ---------------------------------------------------------------------------------------------
# Daily truth of a plant (shared by the lab and the online feeds)

def period(scale: float) -> np.ndarray:
    days = monitoring_days(scale)
    return np.datetime64(AS_OF) - np.arange(days - 1, -1, -1).astype("timedelta64[D]")


def daily(ctx: Context, plant: dict, days: np.ndarray) -> dict[str, np.ndarray]:
    rng = ctx.rng("plant_daily", plant["plant_id"])
    n = len(days)
    doy = (days - days.astype("datetime64[Y]")).astype(int)
    month = days.astype("datetime64[M]").astype(int) % 12 + 1
    seasonal = 1 + cal.SEASONAL_AMPLITUDE * np.cos(2 * np.pi * (doy - 15) / 365)
    rain_p = np.select([np.isin(month, (6,)), np.isin(month, (5, 7, 8, 9))], [0.5, 0.4], 0.25)
    rain = np.where(rng.random(n) < rain_p, 1 + rng.exponential(0.3, n), 1.0)
    sigma = 0.25
    eps = np.zeros(n)
    shocks = rng.normal(0, sigma, n)
    eps[0] = shocks[0]
    for t in range(1, n):           # one AR(1) recursion per plant-day (a few hundred values)
        eps[t] = cal.BOD_AR1 * eps[t - 1] + np.sqrt(1 - cal.BOD_AR1 ** 2) * shocks[t]
    bod_in = plant["bod_level"] * seasonal * np.exp(eps - sigma ** 2 / 2) / rain ** 0.8
    flow = plant["capacity"] * 1e4 * plant["load"] * rain ** 0.7 * np.exp(rng.normal(0, 0.05, n))
    cod_l, nh3_l, tn_l, tp_l = plant["limits"]
    exceed = rng.random(n) < 6 / 365
    boost = np.where(exceed, rng.uniform(1.6, 3.0, n), 1.0)
    which = rng.integers(0, 2, n)            # COD or NH3-N exceedance
    out = {
        "flow_m3d": flow,
        "ph_in": 7.2 + rng.normal(0, 0.12, n), "ph_out": 7.0 + rng.normal(0, 0.15, n),
        "bod_in": bod_in,
        "cod_in": bod_in * cal.COD_PER_BOD * np.exp(rng.normal(0, 0.1, n)),
        "ss_in": bod_in * cal.SS_PER_BOD * np.exp(rng.normal(0, 0.2, n)),
        "nh3n_in": bod_in * cal.NH3N_PER_BOD * np.exp(rng.normal(0, 0.1, n)),
        "tn_in": bod_in * cal.TN_PER_BOD * np.exp(rng.normal(0, 0.1, n)),
        "tp_in": bod_in * cal.TP_PER_BOD * np.exp(rng.normal(0, 0.15, n)),
        "bod_out": rng.uniform(2, 8, n),
        "cod_out": cod_l * rng.uniform(0.4, 0.65) * np.exp(rng.normal(0, 0.12, n)) * np.where(which == 0, boost, 1),
        "ss_out": rng.uniform(3, 8, n),
        "nh3n_out": nh3_l * rng.uniform(0.15, 0.4) * np.exp(rng.normal(0, 0.25, n)) * np.where(which == 1, boost * 2, 1),
        "tn_out": tn_l * rng.uniform(0.55, 0.8) * np.exp(rng.normal(0, 0.1, n)),
        "tp_out": tp_l * rng.uniform(0.3, 0.6) * np.exp(rng.normal(0, 0.15, n)),
        "exceed": exceed,
    }
    return out


# ---------------------------------------------------------------------------------------------
# Lab

def write_lab(ctx: Context, plant: dict, days: np.ndarray, series: dict) -> None:
    d: District = DISTRICT_BY_CODE[plant["district"]]
    pid = plant["plant_id"]
    template = csv_template(ctx, "plant_lab", LAB_COLUMNS, ctx.rng("plant_lab", pid, "tpl"), d.encoding)
    labels = (("进水", "出水"), ("进口", "出口"))[int(ctx.rng("plant_lab", pid, "lbl").integers(0, 2))]
    months = np.unique(days.astype("datetime64[M]"))
    col = ctx.contracts["plant_lab"].column
    menu = [mess.spoil_range(col("bod5_mg_l"), as_text=True), mess.spoil_range(col("cod_mg_l"), as_text=True),
            mess.spoil_range(col("tp_mg_l"), as_text=True), mess.spoil_type(col("nh3n_mg_l")),
            mess.spoil_type(col("ss_mg_l")), mess.spoil_type(col("tn_mg_l"))]
    last_clean = None
    for month in months:
        at = np.flatnonzero(days.astype("datetime64[M]") == month)
        rng = ctx.rng("plant_lab", pid, str(month))
        records = _lab_records(series, at, days, rng)
        sheet = _lab_sheet(pid, records, template, labels, rng)
        ctx.plan("plant_lab", menu).apply(sheet, rng)
        name = f"{pid}_{plant['name']}_化验_{month}.csv"
        end = min(mess.to_date(month + 1) - dt.timedelta(days=1), AS_OF)
        path, truth = write_table(ctx, "plant_lab", name, template, sheet, end + dt.timedelta(days=2))
        free = sheet.free() & np.array([v is not None for v in sheet.cells["bod5_mg_l"]])
        last_clean = (records, np.flatnonzero(free), truth.path, month)

    # re-tested BOD5 (the 5-day test redone) corrected in a later file
    crng = ctx.rng("plant_lab", pid, "correction")
    if last_clean is not None and len(last_clean[1]) and crng.random() < 0.3:
        records, free, original, month = last_clean
        picks = np.sort(crng.choice(free, size=min(3, len(free)), replace=False))
        fixed = {k: (v[picks].copy() if isinstance(v, np.ndarray) else v) for k, v in records.items()}
        fixed["bod5"] = np.round(fixed["bod5"] * crng.uniform(0.8, 0.95, len(picks)), 1)
        sheet = _lab_sheet(pid, fixed, template, labels, crng)
        name = f"{pid}_{plant['name']}_化验_{month}更正.csv"
        path, truth = write_table(ctx, "plant_lab", name, template, sheet, AS_OF + dt.timedelta(days=9))
        keys = [[pid, str(day), "influent" if point == 0 else "effluent"]
                for day, point in zip(fixed["day"], fixed["point"])]
        record_correction(ctx, "plant_lab", truth, keys, [original])


def _lab_records(series: dict, at: np.ndarray, days: np.ndarray, rng) -> dict:
    """Two rows a day (influent, effluent); BOD5 (a 5-day test) three days a week."""
    day = np.repeat(days[at], 2)
    point = np.tile([0, 1], len(at))
    idx = np.repeat(at, 2)
    noise = lambda: np.exp(rng.normal(0, 0.05, len(idx)))  # noqa: E731  lab measurement error
    pick = lambda a, b: np.where(point == 0, series[a][idx], series[b][idx])  # noqa: E731
    weekday = (day.astype("datetime64[D]").astype(int) + 3) % 7          # 0 = Monday
    bod_day = np.isin(weekday, (0, 2, 4))
    return {
        "day": day, "point": point,
        "bod5": np.where(bod_day, np.round(pick("bod_in", "bod_out") * noise(), 1), np.nan),
        "cod": np.round(pick("cod_in", "cod_out") * noise(), 1),
        "ss": np.round(pick("ss_in", "ss_out") * noise(), 0),
        "nh3n": np.round(pick("nh3n_in", "nh3n_out") * noise(), 2),
        "tn": np.round(pick("tn_in", "tn_out") * noise(), 2),
        "tp": np.round(pick("tp_in", "tp_out") * noise(), 3),
    }


def _lab_sheet(pid, rec, template, labels, rng) -> Sheet:
    n = len(rec["day"])
    fw = template.fullwidth_share
    cells = {
        "plant_id": [pid] * n,
        "sampled_on": template.dates(rng, rec["day"]),
        "sampling_point": [labels[p] for p in rec["point"]],
        "bod5_mg_l": mess.number_text(rec["bod5"], 1, rng, fw),
        "cod_mg_l": mess.number_text(rec["cod"], 1, rng, fw),
        "ss_mg_l": mess.number_text(rec["ss"], 0, rng, fw),
        "nh3n_mg_l": mess.number_text(rec["nh3n"], 2, rng, fw),
        "tn_mg_l": mess.number_text(rec["tn"], 2, rng, fw),
        "tp_mg_l": mess.number_text(rec["tp"], 3, rng, fw),
    }
    return Sheet(LAB_COLUMNS, cells)


# ---------------------------------------------------------------------------------------------
# HJ 212 online monitoring

def _diurnal(hours: np.ndarray, amplitude: float, lag: float) -> np.ndarray:
    return 1 + amplitude * np.sin(2 * np.pi * (hours - lag) / 24) + 0.35 * amplitude * np.sin(
        4 * np.pi * (hours - lag - 1) / 24)


def _flags(rng, n_hours: int, factor: int) -> np.ndarray:
    """Per-hour flags of one analyzer: maintenance windows (M), calibration hours (C), fault runs
    (D), and for the concentration analyzers a rare hour over their range (T); the flow meter only
    fails (D)."""
    flags = np.full(n_hours, "N", dtype=object)
    kinds = ((("D", 6.0),) if factor == 0 else (("M", 4.0), ("C", 1.0), ("D", 6.0))
             + ((("T", 1.0),) if factor >= 2 else ()))
    for flag, mean_len in kinds:
        share = cal.FLAG_SHARE[flag]
        starts = np.flatnonzero(rng.random(n_hours) < share / mean_len)
        lengths = 1 + rng.poisson(mean_len - 1, len(starts))
        for s, ln in zip(starts, lengths):
            flags[s:s + ln] = flag
    return flags


def write_online(ctx: Context, plant: dict, days: np.ndarray, series: dict) -> None:
    pid = plant["plant_id"]
    months = np.unique(days.astype("datetime64[M]"))
    for month in months:
        at = np.flatnonzero(days.astype("datetime64[M]") == month)
        rng = ctx.rng("plant_online", pid, str(month))
        lines = []
        for point, mn in enumerate((plant["inlet_mn"], plant["outlet_mn"])):
            lines.append(_point_packets(rng, mn, point, days[at], {k: v[at] for k, v in series.items()}))
        send = np.concatenate([x[0] for x in lines])
        text = np.concatenate([x[1] for x in lines])
        order = np.lexsort((np.arange(len(send)), send))
        text = text[order]
        name = f"{pid}_{str(month)}.log"
        path, truth = ctx.new_file("plant_online", name, "log", encoding="ascii")
        out, invalid = _corrupt(ctx, rng, text)
        truth.data_rows = len(out)
        truth.invalid_rows = invalid
        path.write_bytes("".join(out.tolist()).encode("ascii"))
        end = min(mess.to_date(month + 1) - dt.timedelta(days=1), AS_OF)
        ctx.delivered(path, end + dt.timedelta(days=1))


def _point_packets(rng, mn: str, point: int, days: np.ndarray, s: dict) -> tuple[np.ndarray, np.ndarray]:
    """Hourly (CN=2061) and daily (CN=2031) packets of one monitoring point: send times and lines."""
    n_days = len(days)
    hours = np.tile(np.arange(24), n_days)
    day_idx = np.repeat(np.arange(n_days), 24)
    suffix = "_in" if point == 0 else "_out"
    n = len(hours)
    # HJ 212-2017 表B.1: w00000 Rtd/Avg are in L/s (m³/d ÷ 86.4)
    flow = s["flow_m3d"][day_idx] / 86.4 * _diurnal(hours, 0.25, 4) * np.exp(rng.normal(0, 0.04, n))
    conc = _diurnal(hours, 0.15 if point == 0 else 0.05, 6)
    values = np.stack([
        flow,
        s["ph" + suffix][day_idx] + rng.normal(0, 0.05, n),
        s["cod" + suffix][day_idx] * conc * np.exp(rng.normal(0, 0.06, n)),
        s["nh3n" + suffix][day_idx] * conc * np.exp(rng.normal(0, 0.08, n)),
        s["tn" + suffix][day_idx] * conc * np.exp(rng.normal(0, 0.06, n)),
        s["tp" + suffix][day_idx] * conc * np.exp(rng.normal(0, 0.08, n)),
    ], axis=1)
    flags = np.stack([_flags(rng, n, f) for f in range(6)], axis=1)
    standard_solution = np.array([0, 7.0, 100.0, 5.0, 10.0, 0.5])      # what the analyzer reads while calibrating
    values = np.where(flags == "C", standard_solution[None, :], values)
    analyzer_range = np.array([0, 14, 1000.0, 100.0, 100.0, 20.0])      # what it reads above its range (T)
    values = np.where(flags == "T", analyzer_range[None, :], values)
    values = np.where(flags == "D", 0.0, values)
    hour_time = days[day_idx].astype("datetime64[s]") + (hours * 3600).astype("timedelta64[s]")
    hour_send = hour_time + np.timedelta64(3600, "s") + rng.integers(2, 50, n).astype("timedelta64[s]")

    valid = flags == "N"
    sums = np.zeros((n_days, 6))
    counts = np.zeros((n_days, 6))
    np.add.at(sums, day_idx, np.where(valid, values, 0))
    np.add.at(counts, day_idx, valid)
    day_values = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
    day_flags = np.where(counts >= 1, "N", "D").astype(object)
    day_time = days.astype("datetime64[s]")
    day_send = day_time + np.timedelta64(86400 + 300, "s") + rng.integers(0, 120, n_days).astype("timedelta64[s]")

    hourly = _lines(rng, mn, "2061", hour_time, hour_send, values, flags)
    daily_lines = _lines(rng, mn, "2031", day_time, day_send, day_values, day_flags)
    return np.concatenate([hour_send, day_send]), np.concatenate([hourly, daily_lines])


def _stamp(times: np.ndarray) -> pa.Array:
    iso = pa.array(np.datetime_as_string(times, unit="s"))
    return pc.replace_substring_regex(iso, r"[-:T]", "")


def _lines(rng, mn, cn, data_time, send_time, values, flags) -> np.ndarray:
    n = len(data_time)
    ms = pc.utf8_lpad(pc.cast(pa.array(rng.integers(0, 1000, n)), pa.string()), 3, "0")
    parts: list = ["QN=", _stamp(send_time), ms, f";ST=32;CN={cn};PW=123456;MN={mn};Flag=4;CP=&&DataTime=",
                   _stamp(data_time)]
    for f, (code, dec) in enumerate(zip(FACTORS, DECIMALS)):
        parts += [f";{code}-Avg=", pc.cast(pa.array(np.round(values[:, f], dec)), pa.string()),
                  f",{code}-Flag=", pa.array(flags[:, f].astype(str))]
    parts.append("&&")
    arrays = [pa.array([p] * n, type=pa.string()) if isinstance(p, str) else p for p in parts]
    segments = pc.binary_join_element_wise(*arrays, "").to_pylist()
    raw = [s.encode("ascii") for s in segments]
    crc = crc_many(raw)
    length = pc.utf8_lpad(pc.cast(pc.binary_length(pa.array(raw)), pa.string()), 4, "0")
    framed = pc.binary_join_element_wise(pa.array(["##"] * n), length, pa.array(segments),
                                         pa.array(HEX4[crc].tolist()), pa.array(["\r\n"] * n), "")
    return np.asarray(framed.to_pylist(), dtype=object)


def _corrupt(ctx: Context, rng, lines: np.ndarray) -> tuple[np.ndarray, list[dict]]:
    """Spoil a few packets (one hj212 rule each, the three rules in turn across the feed) and
    repeat a few right after themselves (a retransmission: duplicate_row)."""
    n = len(lines)
    state = ctx.shared.setdefault("hj212_kind", [int(ctx.rng("plant_online", "kinds").integers(0, 3))])
    bad = np.sort(rng.choice(n, size=min(int(rng.binomial(n, CORRUPT_RATE)), n), replace=False))
    dups = np.setdiff1d(rng.choice(n, size=min(int(rng.binomial(n, DUPLICATE_PACKET_RATE)), n), replace=False), bad)
    lines = lines.copy()
    kinds = []
    for i in bad:
        kind = ("hj212_crc", "hj212_length", "hj212_frame")[state[0] % 3]
        state[0] += 1
        lines[i] = _spoil_packet(rng, lines[i], kind)
        kinds.append(kind)
    out = np.insert(lines, dups + 1, lines[dups])
    shift = lambda idx: idx + np.searchsorted(dups, idx)  # noqa: E731  rows moved down by earlier copies
    invalid = [{"row": int(shift(i)) + 1, "reasons": [{"field": None, "rule": kind}]} for i, kind in zip(bad, kinds)]
    invalid += [{"row": int(shift(i)) + 2, "reasons": [{"field": None, "rule": "duplicate_row"}]} for i in dups]
    return out, invalid


def _spoil_packet(rng, line: str, kind: str) -> str:
    body = line[:-2]                       # without CRLF
    if kind == "hj212_crc":
        crc = int(body[-4:], 16) ^ int(rng.integers(1, 65536))
        return body[:-4] + HEX4[crc] + "\r\n"
    if kind == "hj212_length":
        length = int(body[2:6])
        delta = int(rng.integers(1, 10)) * (1 if rng.random() < 0.5 else -1)
        return f"##{length + delta:04d}" + body[6:] + "\r\n"
    # truncated: the logger lost the tail; cut just after a ';' so no CRC-like tail remains
    cuts = [j for j, ch in enumerate(body) if ch == ";" and 20 < j < len(body) - 20]
    cut = cuts[int(rng.integers(0, len(cuts)))]
    return body[: cut + 1] + "\r\n"
