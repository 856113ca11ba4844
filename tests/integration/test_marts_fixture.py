"""The dbt marts on the hand-made fixture warehouse, built through Dagster (dagster-dbt ``dbt build``),
against an independent recomputation in plain Python of pipe_segments, district_progress and
city_bod5_kpi from the fixture's rows (tests/fixtures/raw_warehouse.py).

The recomputation follows DOMAIN.md §2 and §6 and docs/marts.md, and uses its own copy of the CJJ 181
tables, so a wrong seed value or a wrong formula in the models shows up as a disagreement. The issue 9
corrections are recomputed the same way: orientation from the outlets, close defects adding up (capped at 10),
sonar without structure and QV preliminary, works that fix the reason (accepted vs completed, re-grading),
structural inspected length in the campaign, and the effluent, discharger and BOD5 rules in their own tests.
"""
from __future__ import annotations

import calendar
import json
from collections import defaultdict, deque
from datetime import date

import pytest

from pipelines import duck
from tests.fixtures import raw_warehouse as fx
from tests.fixtures.built_fixture import fixture_build

REPORTING_DATE = fx.REPORTING_DATE
PLAN_START = date(2023, 12, 31)
CAMPAIGN_START = date(2023, 1, 1)
ALPHA = 1.1
TOLERANCE_M = 0.01
FIXES = {"structural_grade": {"repair", "new_build"}, "ri_grade": {"repair", "new_build"},
         "severe_misconnection": {"separation"}, "direct_discharge": {"separation", "new_build"}}

# DOMAIN.md §6, typed in again on purpose (not read from the seed).
STRUCTURAL = {"PL": (0.5, 2, 5, 10), "BX": (1, 2, 5, 10), "FS": (0.5, 2, 5, None), "CK": (0.5, 2, 5, 10),
              "QF": (0.5, 2, 5, 10), "TJ": (1, 3, 5, 10), "TL": (1, 3, None, None), "AJ": (0.5, 2, 5, None),
              "CR": (0.5, 2, 5, None), "SL": (0.5, 2, 5, 10)}
FUNCTIONAL = {"CJ": (0.5, 2, 5, 10), "JG": (0.5, 2, 5, 10), "ZW": (0.1, 2, 5, 10), "CQ": (1, 3, 5, 10),
              "SG": (0.5, 2, 5, 10), "FZ": (0, 0, 0, None)}
K_VALUES = {"central_business": 10, "arterial_road": 6, "other_motor_road": 3, "other": 0}
T_VALUES = {"general": 0, "collapsible_loess_1_2": 6, "weak_expansive": 6, "medium_expansive": 8,
            "mucky_soil": 8, "red_clay": 8, "silty_sand": 10, "strong_expansive": 10, "silt": 10}
MANNING = {"RC": 0.014, "PE": 0.010, "HDPE": 0.010, "PVC": 0.010, "GRP": 0.010, "DI": 0.012, "CI": 0.013,
           "ST": 0.012, "BRICK": 0.015}
TARGETS = {"inspected": [(date(2024, 12, 31), 60.0), (date(2025, 12, 31), 100.0)],
           "rectified": [(date(2025, 12, 31), 70.0), (date(2027, 12, 31), 100.0)]}


# ----------------------------------------------------------------------------------------------------
# The build: fixture warehouse → Dagster materialisation of every dbt asset (dbt build incl. tests).
# ----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Built once per test session, also across pytest-xdist workers (tests/fixtures/built_fixture.py)."""
    return fixture_build(tmp_path_factory)


def _rows(path, sql):
    con = duck.connect(path, read_only=True, extensions=())
    try:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        con.close()


# ----------------------------------------------------------------------------------------------------
# Independent recomputation
# ----------------------------------------------------------------------------------------------------
def _grade(value, bounds):
    for upper, grade in bounds:
        if upper is None or value <= upper:
            return grade


def condition_grade(v):
    return _grade(v, [(1, "I"), (3, "II"), (6, "III"), (None, "IV")])


def index_grade(v):
    return _grade(v, [(1, "I"), (4, "II"), (7, "III"), (None, "IV")])


def extent(density):
    """CJJ 181-2012 §8.3.3 / §8.4.3: < 0.1 局部, 0.1～0.5 部分或整体 (0.5 included), > 0.5 整体."""
    if density is None:
        return None
    return "local" if density < 0.1 else "partial" if density <= 0.5 else "whole"


def _class_score(defects, seg_length):
    """S (or Y), max, density for one class of defects [(points, start, end)]."""
    if not defects:
        return 0.0, 0.0, None, 0
    defects = sorted(defects, key=lambda d: (d[1], d[2]))
    groups = []  # defects within 1.0 m of the previous group's end join it: points add up, at most 10
    for points, start, end in defects:
        if groups and round(start - groups[-1][2], 3) <= 1.0:
            g = groups[-1]
            groups[-1] = (min(g[0] + points, 10), g[1], max(g[2], end))
        else:
            groups.append((points, start, end))
    total, weighted = 0.0, 0.0
    for i, (points, start, end) in enumerate(groups):
        gaps = []
        if i > 0:
            gaps.append(start - groups[i - 1][2])
        if i + 1 < len(groups):
            gaps.append(groups[i + 1][1] - end)
        factor = ALPHA if gaps and round(min(gaps), 3) <= 1.5 else 1.0
        total += factor * points
        weighted += factor * points * max(end - start, 1.0)
    mean = total / len(groups)
    density = weighted / (mean * seg_length) if mean > 0 else None
    return mean, max(g[0] for g in groups), density, len(groups)


def _score(pipe, rows):
    """CJJ 181 indices and grades of one inspection (its defect rows); a sonar inspection has no structure."""
    structural, functional = [], []
    sonar = rows[0]["method"] == "SONAR"
    for r in rows:
        code = r["defect_code"]
        if not code or (sonar and code in STRUCTURAL):
            continue
        table, target = (STRUCTURAL, structural) if code in STRUCTURAL else (FUNCTIONAL, functional)
        end = r["defect_position_m"] + (r["defect_length_m"] or 0)
        target.append((table[code][r["defect_grade"] - 1], r["defect_position_m"], end))
    s, smax, sm, _ = _class_score(structural, pipe["length_m"])
    y, ymax, ym, _ = _class_score(functional, pipe["length_m"])
    sm, ym = (None if d is None else round(d, 4) for d in (sm, ym))
    f, g = round(max(s, smax), 4), round(max(y, ymax), 4)
    size = pipe["diameter_mm"] or max(pipe["box_width_mm"], pipe["box_height_mm"])
    k = K_VALUES.get(pipe["area_importance"], 0) if f >= 4 else 0
    e = (10 if size > 1500 else 6 if size > 1000 else 3 if size >= 600 else 0) if f >= 4 else 0
    t = T_VALUES.get(pipe["soil_type"], 0) if f > 0 else 0
    ri = round(0.7 * f + 0.1 * k + 0.05 * e + 0.15 * t, 4)
    mi = round(0.8 * g + 0.15 * k + 0.05 * e, 4)
    if sonar:
        mi = round(0.8 * g, 4)   # F unknown: K = E = 0
        return dict(structural_f=None, functional_g=g, ri=None, mi=mi, structural_grade=None,
                    functional_grade=condition_grade(g), ri_grade=None, mi_grade=index_grade(mi),
                    k=0, e=0, t=0, structural_density=None, structural_extent=None,
                    functional_density=ym, functional_extent=extent(ym))
    return dict(structural_f=f, functional_g=g, ri=ri, mi=mi, structural_grade=condition_grade(f),
                functional_grade=condition_grade(g), ri_grade=index_grade(ri), mi_grade=index_grade(mi),
                k=k, e=e, t=t, structural_density=sm, structural_extent=extent(sm),
                functional_density=ym, functional_extent=extent(ym))


def expected_pipe_segments():
    """Structure from the latest CCTV (else QV), function from the latest inspection; orientation, plant,
    outlet and the register's status on the reporting date."""
    pipes = {p["segment_id"]: p for p in fx.CENSUS_PIPES}
    by_inspection = defaultdict(list)
    for row in fx.INSPECTIONS:
        by_inspection[(row["segment_id"], row["batch_id"])].append(row)
    history = defaultdict(list)  # segment -> [(inspected_on, batch, method, length inspected, scores)]
    for (seg, batch), rows in by_inspection.items():
        if seg in pipes:
            history[seg].append((rows[0]["inspected_on"], batch, rows[0]["method"], rows[0]["inspected_length_m"],
                                 _score(pipes[seg], rows)))

    out = {}
    for seg, pipe in pipes.items():
        rec = {"segment_id": seg, "structural_f": None, "functional_g": None, "ri": None, "mi": None,
               "structural_grade": None, "functional_grade": None, "ri_grade": None, "mi_grade": None,
               "k": None, "e": None, "t": None, "structural_density": None, "structural_extent": None,
               "functional_density": None, "functional_extent": None,
               "last_inspected_on": None, "first_inspected_on": None, "structural_method": None}
        if history[seg]:
            latest = max(history[seg], key=lambda h: (h[0], h[1]))
            rec.update({k: latest[4][k] for k in ("functional_g", "functional_grade", "mi", "mi_grade",
                                                   "functional_density", "functional_extent")},
                       last_inspected_on=latest[0], first_inspected_on=min(h[0] for h in history[seg]))
            structural = [h for h in history[seg] if h[2] in ("CCTV", "QV")]
            if structural:
                basis = max(structural, key=lambda h: (h[2] == "CCTV", h[0], h[1]))
                rec.update({k: basis[4][k] for k in ("structural_f", "structural_grade", "ri", "ri_grade", "k", "e",
                                                     "t", "structural_density", "structural_extent")},
                           structural_method=basis[2])
        out[seg] = rec

    network = trace_network()
    for seg, rec in out.items():
        rec["downstream_plant_id"] = network["segment_plant"].get(seg)
        rec["is_reversed"] = seg in network["reversed"]
        rec["is_direct_discharge"] = seg in network["direct"]
    register = problem_register(history, network)
    for seg, rec in out.items():
        status = register[seg]["status"] if seg in register else None
        rec["in_problem_register"] = seg in register
        rec["problem_status"] = status
        rec["is_problem"] = status not in (None, "rectified", "re_graded")
    return out, register, history


def trace_network():
    """Orientation from the outlets (a 0-1 breadth-first walk upstream: cost = reversals needed), then a
    walk upstream from each plant inlet over the sewage and combined pipes."""
    outlets = {m["manhole_id"] for m in fx.CENSUS_MANHOLES if m["manhole_type"] in ("outfall", "plant_inlet")}
    outlets |= {p["inlet_manhole_id"] for p in fx.PLANTS}
    pipes = [p for p in fx.CENSUS_PIPES if p["start_manhole_id"] != p["end_manhole_id"]]
    into, outof = defaultdict(list), defaultdict(list)
    for p in pipes:
        falls = (p["start_invert_m"] is not None and p["end_invert_m"] is not None
                 and p["start_invert_m"] - p["end_invert_m"] > TOLERANCE_M)
        into[p["end_manhole_id"]].append(p["start_manhole_id"])
        if not falls:
            outof[p["start_manhole_id"]].append(p["end_manhole_id"])
    cost = {o: 0 for o in outlets}
    queue = deque((o, 0) for o in outlets)
    while queue:
        node, k = queue.popleft()
        if cost[node] < k:
            continue
        for up in into[node]:
            if cost.get(up, 99) > k:
                cost[up] = k
                queue.appendleft((up, k))
        for down in outof[node]:
            if k < 3 and cost.get(down, 99) > k + 1:
                cost[down] = k + 1
                queue.append((down, k + 1))
    edges, reversed_ = {}, set()
    for p in pipes:
        a, b = p["start_manhole_id"], p["end_manhole_id"]
        falls = (p["start_invert_m"] is not None and p["end_invert_m"] is not None
                 and p["start_invert_m"] - p["end_invert_m"] > TOLERANCE_M)
        if not falls and a in cost and b in cost and cost[a] < cost[b]:
            a, b = b, a
            reversed_.add(p["segment_id"])
        edges[p["segment_id"]] = (a, b, p["pipe_category"])
    wet_into = defaultdict(list)
    for seg, (a, b, cat) in edges.items():
        if cat in ("sewage", "combined"):
            wet_into[b].append(a)
    manhole_plants = defaultdict(set)
    for plant in fx.PLANTS:
        queue, seen = deque([plant["inlet_manhole_id"]]), {plant["inlet_manhole_id"]}
        while queue:
            node = queue.popleft()
            manhole_plants[node].add(plant["plant_id"])
            for up in wet_into[node]:
                if up not in seen:
                    seen.add(up)
                    queue.append(up)
    segment_plant = {seg: min(manhole_plants[b]) for seg, (a, b, cat) in edges.items()
                     if cat in ("sewage", "combined") and manhole_plants[b]}
    outfalls = {m["manhole_id"] for m in fx.CENSUS_MANHOLES if m["manhole_type"] == "outfall"}
    direct = {seg for seg, (a, b, cat) in edges.items() if cat in ("sewage", "combined") and b in outfalls}
    return {"edges": edges, "reversed": reversed_, "segment_plant": segment_plant, "direct": direct}


def problem_register(history, network):
    """Reasons, their resolution by fixing works (accepted / completed) or by a later CCTV I–II, and the
    segment's status on the reporting date."""
    pipes = {p["segment_id"]: p for p in fx.CENSUS_PIPES}
    reasons = defaultdict(dict)   # seg -> reason -> {"identified", "regraded", "grade_iv"}
    for seg, inspections in history.items():
        for reason, column in (("structural_grade", "structural_grade"), ("ri_grade", "ri_grade")):
            graded = [(on, method, sc[column]) for on, _, method, _, sc in inspections if method in ("CCTV", "QV")]
            bad = [on for on, _, g in graded if g in ("III", "IV")]
            if not bad:
                continue
            first = min(bad)
            later = [on for on, method, g in graded if on > first and g in ("I", "II") and method == "CCTV"]
            reasons[seg][reason] = {"identified": first, "regraded": min(later, default=None),
                                    "points": None}
    misc = defaultdict(list)
    for m in fx.MISCONNECTIONS:
        if m["severity"] == "severe":
            seg = m["segment_id"] or next((s for s, (a, _, c) in network["edges"].items()
                                           if a == m["manhole_id"] and c in ("sewage", "combined")), None)
            if seg in pipes:
                misc[seg].append(m)
    for seg, ms in misc.items():
        points = (max(m["rectified_on"] or m["found_on"] for m in ms)
                  if all(m["rectification_status"] == "rectified" for m in ms) else None)
        reasons[seg]["severe_misconnection"] = {"identified": min(m["found_on"] for m in ms), "regraded": None,
                                                "points": points}
    for seg in network["direct"]:
        reasons[seg]["direct_discharge"] = {"identified": pipes[seg]["reported_on"] or PLAN_START,
                                            "regraded": None, "points": None}
    projects = defaultdict(list)
    for pr in fx.UPGRADE_PROJECTS:
        for seg in pr["segment_ids"]:
            projects[seg].append(pr)
    building = {seg for seg, prs in projects.items()
                if any(pr["status"] == "under_construction" for pr in prs)}

    def first(dates):
        dates = [d for d in dates if d and d <= REPORTING_DATE]
        return min(dates) if dates else None

    register = {}
    for seg, why in reasons.items():
        if min(r["identified"] for r in why.values()) > REPORTING_DATE:
            continue
        per = []
        for reason, r in why.items():
            fixing = [pr for pr in projects[seg] if pr["project_type"] in FIXES[reason]
                      and pr["status"] in ("completed", "accepted") and pr["actual_completion_on"]
                      and pr["actual_completion_on"] >= r["identified"]]
            accepted = first([pr["actual_completion_on"] for pr in fixing if pr["status"] == "accepted"]
                             + [r["points"]])
            completed = first([pr["actual_completion_on"] for pr in fixing] + [r["points"]])
            regraded = first([r["regraded"]])
            resolved = first([accepted, regraded])
            by = "works" if accepted and (not regraded or accepted <= regraded) else ("regraded" if regraded else None)
            per.append((resolved, by, first([completed, regraded])))
        identified = min(r["identified"] for r in why.values())
        resolved = max(p[0] for p in per) if all(p[0] for p in per) else None
        finished = max(p[2] for p in per) if all(p[2] for p in per) else None
        by_works = any(p[1] == "works" for p in per)
        status = ("rectified" if resolved and by_works else "re_graded" if resolved else
                  "awaiting_acceptance" if finished else "in_progress" if seg in building else "open")
        register[seg] = {"identified": identified, "status": status, "reasons": set(why),
                         "rectified_on": resolved if resolved and by_works else None,
                         "regraded_on": resolved if resolved and not by_works else None,
                         "works_completed_on": finished}
    return register


def _month_ends(start: date, end: date) -> list[date]:
    out, y, m = [], start.year, start.month
    while date(y, m, 1) <= end:
        out.append(date(y, m, calendar.monthrange(y, m)[1]))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return [d for d in out if d <= end]


def _expected_pct(metric: str, as_of: date) -> tuple[float | None, float]:
    targets = TARGETS[metric]
    done = [t for t in targets if t[0] <= as_of]
    upcoming = [t for t in targets if t[0] > as_of]
    in_force = done[-1] if done else None
    nxt = upcoming[0] if upcoming else None
    if nxt is None:
        return in_force[1], in_force[1]
    start_date, start_pct = (in_force or (PLAN_START, 0.0))
    elapsed = max((as_of - start_date).days, 0)
    return (in_force[1] if in_force else None), start_pct + (nxt[1] - start_pct) * elapsed / (nxt[0] - start_date).days


def inspected_length(history, pipe, as_of):
    """Length actually inspected by structural inspections (CCTV, QV) in the campaign up to ``as_of``: the
    longest so far, at most the census length."""
    lengths = [min(length, pipe["length_m"]) for on, _, method, length, _ in history[pipe["segment_id"]]
               if method in ("CCTV", "QV") and CAMPAIGN_START <= on <= as_of]
    return max(lengths, default=0.0)


def expected_district_progress(history, register):
    """Month-end lengths per district/scope (never after the reporting date)."""
    units = defaultdict(list)
    for p in fx.CENSUS_PIPES:
        if p["pipe_category"] in ("sewage", "combined"):
            units[(p["district_code"], p["scope"])].append(p)
            units[("331000", p["scope"])].append(p)
    dates = sorted(set(_month_ends(PLAN_START, REPORTING_DATE)) | {REPORTING_DATE})
    out = {}
    for (district, scope), pipes in units.items():
        for as_of in dates:
            network = sum(p["length_m"] for p in pipes)
            inspected = sum(inspected_length(history, p, as_of) for p in pipes)
            reg = [(p, register[p["segment_id"]]) for p in pipes if p["segment_id"] in register
                   and register[p["segment_id"]]["identified"] <= as_of]
            regraded = sum(p["length_m"] for p, r in reg if r["regraded_on"] and r["regraded_on"] <= as_of)
            problem = sum(p["length_m"] for p, r in reg) - regraded
            rectified = sum(p["length_m"] for p, r in reg if r["rectified_on"] and r["rectified_on"] <= as_of)
            awaiting = sum(p["length_m"] for p, r in reg if r["works_completed_on"] and r["works_completed_on"] <= as_of
                           and not (r["rectified_on"] and r["rectified_on"] <= as_of)
                           and not (r["regraded_on"] and r["regraded_on"] <= as_of))
            ipct = round(100 * inspected / network, 4) if network else None
            rpct = round(100 * rectified / problem, 4) if problem else None
            _, i_exp = _expected_pct("inspected", as_of)
            _, r_exp = _expected_pct("rectified", as_of)
            i_ok = (ipct or 0) >= round(i_exp, 4)
            r_ok = (100 if rpct is None else rpct) >= round(r_exp, 4)
            out[(district, scope, as_of)] = dict(
                network_length_m=network, inspected_length_m=inspected, inspected_pct=ipct,
                problem_length_m=problem, rectified_length_m=rectified, rectified_pct=rpct,
                regraded_length_m=regraded, awaiting_acceptance_length_m=awaiting,
                inspected_expected_pct=round(i_exp, 4), rectified_expected_pct=round(r_exp, 4),
                inspected_on_track=i_ok, rectified_on_track=r_ok, on_track=i_ok and r_ok)
    return out


def _daily_inlet_flow():
    """Daily inflow (m³/d) of each plant on days with at least 20 valid hourly values: mean × 24."""
    hours = defaultdict(list)
    inlet = {p["inlet_mn"]: p["plant_id"] for p in fx.PLANTS}
    for row in fx.ROWS["plant_online"]:
        if row["mn"] in inlet and row["cn"] == "2061" and row["flow_flag"] == "N" and row["flow_avg"] is not None:
            hours[(inlet[row["mn"]], row["data_date"])].append(row["flow_avg"])
    return {key: sum(v) / len(v) * 24 for key, v in hours.items() if len(v) >= 20}


def expected_city_bod5():
    flow = _daily_inlet_flow()
    samples = defaultdict(list)
    for s in fx.PLANT_LAB:
        if s["sampling_point"] == "influent" and s["bod5_mg_l"] is not None and s["sampled_on"] <= REPORTING_DATE:
            samples[(s["plant_id"], s["sampled_on"].year)].append((s["bod5_mg_l"], flow.get((s["plant_id"], s["sampled_on"]))))

    def mean(values):
        weighted = [(b, q) for b, q in values if q]
        if 2 * len(weighted) >= len(values):
            return sum(b * q for b, q in weighted) / sum(q for _, q in weighted)
        return sum(b for b, _ in values) / len(values)

    years = sorted({y for _, y in samples})
    out = {}
    for year in years:
        plants = [p for p in fx.PLANTS if p["plant_type"] == "municipal"
                  and (p["commissioned_on"] is None or p["commissioned_on"].year <= year)]
        total = sum(p["design_capacity_m3d"] for p in plants)
        above = sum(p["design_capacity_m3d"] for p in plants
                    if samples.get((p["plant_id"], year)) and mean(samples[(p["plant_id"], year)]) > 100)
        share = round(100 * above / total, 4)
        out[year] = dict(plants_total=len(plants), capacity_total_m3d=total, capacity_above_100_m3d=above,
                         capacity_share_pct=share, met=share >= 90, is_year_to_date=year == REPORTING_DATE.year)
    return out


# ----------------------------------------------------------------------------------------------------
# Tests
# ----------------------------------------------------------------------------------------------------
def expected_warn_findings() -> dict[str, int]:
    """The dbt findings the fixture's deliberate faults must raise, each with its failing rows counted here from
    the fixture's rows: a relationships test fails once per child row whose key is set and absent from the
    parent (dbt's ``relationships``). Every other dbt test must pass on the fixture."""
    manholes = {m["manhole_id"] for m in fx.CENSUS_MANHOLES}
    segments = {p["segment_id"] for p in fx.CENSUS_PIPES}
    plants = {p["plant_id"] for p in fx.PLANTS}
    touched = {p[end] for p in fx.CENSUS_PIPES for end in ("start_manhole_id", "end_manhole_id")}
    # a manhole is on a loop when it can reach itself along the pipes as drawn (the one pipe the tracing turns
    # round, JJ-S3, is on no loop either way)
    following: dict[str, set[str]] = {}
    for p in fx.CENSUS_PIPES:
        following.setdefault(p["start_manhole_id"], set()).add(p["end_manhole_id"])

    def reaches_itself(start: str) -> bool:
        seen, todo = set(), list(following.get(start, ()))
        while todo:
            node = todo.pop()
            if node == start:
                return True
            if node not in seen:
                seen.add(node)
                todo.extend(following.get(node, ()))
        return False

    on_cycles = {m for m in following if reaches_itself(m)}

    def orphans(rows, column, parents):
        return sum(1 for r in rows if r.get(column) is not None and r[column] not in parents)

    ref = "relationships_stg_{}_{}__{}__ref_stg_{}_".format
    counts = {
        ref("census__pipes", "start_manhole_id", "manhole_id", "census__manholes"):
            orphans(fx.CENSUS_PIPES, "start_manhole_id", manholes),
        # JJ-G1 -> JJ-G2: G2 is missing from the manhole census
        ref("census__pipes", "end_manhole_id", "manhole_id", "census__manholes"):
            orphans(fx.CENSUS_PIPES, "end_manhole_id", manholes),
        # the inspection of NOPE-1, a segment the census does not know
        ref("inspections__defects", "segment_id", "segment_id", "census__pipes"):
            orphans(fx.INSPECTIONS, "segment_id", segments),
        ref("misconnections__points", "segment_id", "segment_id", "census__pipes"):
            orphans(fx.MISCONNECTIONS, "segment_id", segments),
        ref("misconnections__points", "manhole_id", "manhole_id", "census__manholes"):
            orphans(fx.MISCONNECTIONS, "manhole_id", manholes),
        # DP-331002-0003 connects at NO-SUCH-MH
        ref("permits__drainage", "connection_manhole_id", "manhole_id", "census__manholes"):
            orphans(fx.DRAINAGE_PERMITS, "connection_manhole_id", manholes),
        ref("permits__discharge", "receiving_plant_id", "plant_id", "plants__registry"):
            orphans(fx.DISCHARGE_PERMITS, "receiving_plant_id", plants),
        ref("lab__samples", "plant_id", "plant_id", "plants__registry"): orphans(fx.PLANT_LAB, "plant_id", plants),
        # P04, P05, P06 lie in districts whose manholes the fixture has no census of
        ref("plants__registry", "inlet_manhole_id", "manhole_id", "census__manholes"):
            orphans(fx.PLANTS, "inlet_manhole_id", manholes),
        # the relational singular tests (dbt_project/tests/relational/, issue 11), one failing row per object:
        # JJ-ISO, a manhole no pipe touches
        "network_isolated_manholes": len(manholes - touched),
        # the manholes on a directed loop: C1 → C2 → C3 → C1 and B1 ⇄ B2 (B2 → M001 is a way out, the loop stays)
        "network_manholes_on_cycles": len(on_cycles),
        # JJ-S3, drawn M002 → M004 with its invert rising 2.6 → 3.0 m: M004 has no other way out, so the drawn
        # direction reaches no outlet (JJ-S5 M005 → M004 with it) and the reverse does (M004 → M002 → M001 → M000).
        # JJ-G12 reaches no outlet either way (G2 is missing) and the C loop has none: neither is reversed.
        "network_segments_drawn_against_the_flow": 1,
        # PJ-003 cites GHOST-9, which the census does not have
        "projects_cite_census_segments": sum(1 for p in fx.UPGRADE_PROJECTS for s in p["segment_ids"]
                                             if s not in segments),
    }
    return {name: n for name, n in counts.items() if n}


def test_dbt_build_succeeds_with_exactly_the_expected_findings(built):
    """Exactly the fixture's deliberate orphans fail, as WARN, with their row counts: a new finding of any
    severity (a not_null, a relationship, a mart invariant) fails this test instead of passing unnoticed."""
    _, result = built
    assert result["success"]
    checks = result["checks"]
    assert len(checks) > 100
    failed = {c["name"]: (c["severity"], c["failed_rows"]) for c in checks if not c["passed"]}
    expected = expected_warn_findings()
    # the fixture's faults, counted by hand: G2, NOPE-1, NO-SUCH-MH, the inlets of P04, P05, P06; JJ-ISO, JJ-S3,
    # GHOST-9, and the five manholes C1, C2, C3, B1, B2 on loops
    assert sorted(expected.values()) == [1, 1, 1, 1, 1, 1, 3, 5]
    assert failed == {name: ("WARN", count) for name, count in expected.items()}


def _agree(actual, expected):
    for key, exp in expected.items():
        for column, value in exp.items():
            got = actual[key][column]
            if isinstance(value, float) and got is not None:
                assert got == pytest.approx(value, abs=1e-4), (key, column)
            else:
                assert got == value, (key, column, got, value)


def test_pipe_segments_agree_with_python(built):
    path, _ = built
    expected, _, _ = expected_pipe_segments()
    actual = {r["segment_id"]: r for r in _rows(path, "SELECT * FROM marts.pipe_segments")}
    assert set(actual) == set(expected)
    _agree(actual, expected)


def test_district_progress_agrees_with_python(built):
    path, _ = built
    _, register, history = expected_pipe_segments()
    expected = expected_district_progress(history, register)
    actual = {(r["district_code"], r["scope"], r["as_of"]): r
              for r in _rows(path, "SELECT * FROM marts.district_progress")}
    assert set(actual) == set(expected)
    _agree(actual, expected)
    # no month end after the reporting date (2025-06-30 is both)
    assert max(as_of for _, _, as_of in actual) == REPORTING_DATE


def test_register_separates_works_and_re_grading(built):
    """Hand-worked register on the reporting date 2025-06-30:
    - YH-Y2: grade IV on 2024-05-10, CCTV clean on 2025-04-20; its repair PJ-004 was completed 2025-05-20 but
      never accepted → re_graded on 2025-04-20, not rectified; YH-Y1's severe misconnection (found 2024-06-01)
      was rectified at the point on 2025-02-01 → rectified.
    - JJ-S5 (BX 2 + BX 4 within 1 m = 10 points, grade IV): repair PJ-006 accepted 2025-06-10 → rectified.
    - JJ-S2: PL 3 (grade III) and a severe misconnection: separation PJ-005 accepted 2025-04-30 fixes the
      misconnection, not the pipe; the repair PJ-001 is completed (2025-03-15), not accepted → awaiting
      acceptance since 2025-04-30 (both reasons' works finished).
    - JJ-D1 ends at outfall JJ-OUT1: a direct discharge, priority 1, open (PJ-007 is only planned).
    - JJ-B2M: QV only, PL 3 → grade III, preliminary; in the register, open.
    331083 built_up: 2024-05-31 problem 35 m (YH-Y2), rectified 0; 2025-03-31 problem 105 m, rectified 70 m
    (YH-Y1); 2025-04-30 YH-Y2 re-graded leaves the share: problem 70 m, rectified 70 m = 100 %, re-graded 35 m."""
    path, _ = built
    reg = {r["segment_id"]: r for r in _rows(path, "SELECT * FROM marts.problem_pipes")}
    assert (reg["YH-Y2"]["status"], reg["YH-Y2"]["rectified_on"], reg["YH-Y2"]["regraded_on"]) == \
        ("re_graded", None, date(2025, 4, 20))
    assert (reg["YH-Y1"]["status"], reg["YH-Y1"]["rectified_on"]) == ("rectified", date(2025, 2, 1))
    assert (reg["JJ-S5"]["status"], reg["JJ-S5"]["rectified_on"], reg["JJ-S5"]["priority"]) == \
        ("rectified", date(2025, 6, 10), 2)
    assert (reg["JJ-S2"]["status"], reg["JJ-S2"]["works_completed_on"]) == ("awaiting_acceptance", date(2025, 4, 30))
    assert (reg["JJ-D1"]["status"], reg["JJ-D1"]["priority"], reg["JJ-D1"]["reason_direct_discharge"]) == \
        ("open", 1, True)
    seg = _rows(path, "SELECT * FROM marts.pipe_segments WHERE segment_id = 'JJ-B2M'")[0]
    assert (seg["structural_grade"], seg["structural_method"], seg["structural_is_preliminary"],
            seg["problem_status"]) == ("III", "QV", True, "open")
    seg = _rows(path, "SELECT * FROM marts.pipe_segments WHERE segment_id = 'YH-Y2'")[0]
    assert (seg["structural_grade"], seg["in_problem_register"], seg["is_problem"]) == ("I", True, False)
    progress = {r["as_of"]: r for r in _rows(
        path, "SELECT * FROM marts.district_progress WHERE district_code = '331083' AND scope = 'built_up'")}
    assert (progress[date(2024, 5, 31)]["problem_length_m"], progress[date(2024, 5, 31)]["rectified_length_m"]) == (35, 0)
    assert (progress[date(2025, 3, 31)]["problem_length_m"], progress[date(2025, 3, 31)]["rectified_length_m"]) == (105, 70)
    assert (progress[date(2025, 4, 30)]["problem_length_m"], progress[date(2025, 4, 30)]["rectified_pct"],
            progress[date(2025, 4, 30)]["regraded_length_m"]) == (70, 100.0, 35)
    portfolio = _rows(path, "SELECT * FROM marts.project_portfolio WHERE project_id = 'PJ-004'")[0]
    assert (portfolio["problem_segments_covered"], portfolio["problem_length_covered_m"]) == (1, 35)


def test_sonar_recheck_keeps_the_cctv_structure_and_partial_inspection_counts_its_length(built):
    """JJ-S4: CCTV 2024-09-21 (CK 1: F = 0.5, grade I; CJ 3 + ZW 1: G = 5), sonar 2025-03-03 (CJ 2: G = 2,
    grade II): structure stays the CCTV's, function is the sonar's. JJ-B12 (20 m) was inspected over 12 m
    only: 331002 built_up on 2025-05-31 counts 12 m of it."""
    path, _ = built
    seg = _rows(path, "SELECT * FROM marts.pipe_segments WHERE segment_id = 'JJ-S4'")[0]
    assert (seg["structural_method"], seg["structural_inspected_on"], seg["structural_grade"], seg["structural_f"],
            seg["last_method"], seg["functional_g"], seg["functional_grade"]) == \
        ("CCTV", date(2024, 9, 21), "I", 0.5, "SONAR", 2.0, "II")
    covered = _rows(path, "SELECT covered_m FROM intermediate.int_progress_inspected_length WHERE segment_id = 'JJ-B12'")
    assert [r["covered_m"] for r in covered] == [12.0]


def test_city_bod5_kpi_agrees_with_python(built):
    path, _ = built
    expected = expected_city_bod5()
    actual = {r["year"]: r for r in _rows(path, "SELECT * FROM marts.city_bod5_kpi")}
    assert set(actual) == set(expected)
    for year, exp in expected.items():
        for column, value in exp.items():
            assert actual[year][column] == pytest.approx(value, abs=1e-4), (year, column)
    assert actual[2025]["period_end"] == REPORTING_DATE and actual[2024]["period_end"] == date(2024, 12, 31)


def test_network_anomalies_report_the_fixture_defects(built):
    path, _ = built
    found = {(r["anomaly_kind"], r["object_id"]) for r in _rows(path, "SELECT * FROM marts.network_anomalies")}
    for item in [("cycle", "JJ-C1"), ("cycle", "JJ-C2"), ("cycle", "JJ-C3"), ("cycle", "JJ-B1"), ("cycle", "JJ-B2"),
                 ("dead_end", "JJ-G2"), ("missing_manhole", "JJ-G2"), ("isolated_manhole", "JJ-ISO"),
                 ("reversed_segment", "JJ-S3"), ("no_downstream_plant", "331002"),
                 ("direct_discharge", "JJ-D1"),
                 ("unknown_segment_reference", "B2024-03"), ("unknown_segment_reference", "PJ-003"),
                 ("unknown_manhole_reference", "DP-331002-0003")]:
        assert item in found, item
    # nothing on the clean tree of P01 is reported as a cycle; the storm pipe ends at its outfall: no dead end
    assert not {o for k, o in found if k == "cycle"} & {"JJ-M000", "JJ-M001", "JJ-M002", "JJ-M004"}
    assert ("dead_end", "JJ-R002") not in found and ("direct_discharge", "JJ-S6") not in found
    # JJ-S3 rises 0.4 m as drawn, but it is drawn against the flow: reversed, it falls 0.4 m (no adverse slope)
    assert not {o for k, o in found if k == "adverse_slope"}
    # the dead end strands JJ-G12 (15 m); the district summary counts it with the closed loop (3 × 10 m)
    # and the direct discharge JJ-D1 (20 m), which reaches an outfall, not a plant
    details = {(r["anomaly_kind"], r["object_id"]): r["detail"]
               for r in _rows(path, "SELECT * FROM marts.network_anomalies")}
    assert "1 upstream segments (15 m)" in details[("dead_end", "JJ-G2")]
    assert details[("no_downstream_plant", "331002")].startswith("5 sewage/combined segments (65 m)")


def test_discharger_profile_flags(built):
    """Hand-worked on 2025-06-30:
    A: valid drainage permits (JJ-M005, JJ-M003) and a valid 简化 discharge permit: no duty missing; declares P03
       but traces to P01.
    B: valid drainage permit at XQ-M002 and a valid 重点 discharge permit: no duty missing. Its 2025-02-10 case
       was 不予处罚: not a violation, so one violation (2024-06-10, ¥100,000) and no repeat offence.
    C: expired drainage permit at an unknown manhole, no discharge-permit record (class unknown); two violations
       260 days apart (penalised ¥20,000, closed ¥5,000): repeat offender, last violation 2024-11-20.
    D: 登记管理 (registration) into a water body, record expired 2024-12-31: no discharge permit is required
       (分类管理名录 art. 2), no drainage permit needed.
    E: discharges into P01 under a valid 简化 discharge permit but holds no drainage permit: a connected 排水户
       without one (排水许可管理办法 art. 4).
    F: 重点管理 straight into the river, permit expired 2025-03-31: the discharge permit it needs is missing
       (排污许可管理条例 art. 2); not connected, so no drainage permit is needed."""
    path, _ = built
    rows = {r["credit_code"]: r for r in _rows(path, "SELECT * FROM marts.discharger_profile")}
    a, b, c, d, e = (rows[k] for k in (fx.CREDIT_A, fx.CREDIT_B, fx.CREDIT_C, fx.CREDIT_D, fx.CREDIT_E))
    flags = ("needs_drainage_permit", "lacks_drainage_permit", "discharge_permit_required", "lacks_discharge_permit")
    assert tuple(a[f] for f in flags) == (True, False, True, False)
    assert tuple(b[f] for f in flags) == (True, False, True, False)
    assert tuple(e[f] for f in flags) == (True, True, True, False)
    assert tuple(rows[fx.CREDIT_F][f] for f in flags) == (False, False, True, True)
    assert tuple(c[f] for f in flags) == (True, True, None, False)
    assert tuple(d[f] for f in flags) == (False, False, False, False)
    assert (a["downstream_plant_id"], a["declared_plant_id"], a["plant_disagrees"]) == ("P01", "P03", True)
    assert a["permit_expiring_soon"]
    assert (b["enforcement_cases"], b["violation_cases"], b["is_repeat_offender"]) == (2, 1, False)
    assert (b["penalties_yuan"], b["last_violation_on"]) == (100000.0, date(2024, 6, 10))
    assert (c["violation_cases"], c["is_repeat_offender"], c["downstream_plant_id"]) == (2, True, None)
    assert (c["penalties_yuan"], c["last_violation_on"]) == (25000.0, date(2024, 11, 20))


def test_effluent_compliance_judges_valid_days_by_the_standard_in_force(built):
    """Hand-worked:
    - P01 2024-07-01 COD: 23 valid hours of 30 (hour 5 flagged D) → compliant with 一级A 50.
    - P01 2024-07-02 COD: only 10 valid hours → 数据不足 (insufficient_data), not judged, although the mean is 60.
    - P01 2024-07-03 COD, flow-weighted: (40 × 360 × 12 + 60 × 1080 × 12) / (360 × 12 + 1080 × 12) = 55.0 > 50 →
      exceeded (the arithmetic mean 50.0 would comply).
    - P01 2024-07-04 COD: hour 3 over range (T, 1000) is not valid data: mean of 23 hours 30 → compliant, and
      likely_exceeded. pH: 23 hours 7.0 and one 9.3: the mean 7.0958 is within 6–9 but the range is not → exceeded.
    - P03 2024-07-15 NH3-N 2.5: the registry's history holds P03 to 一级B (8) until 2025-01-01 → compliant (the
      current DB33/2169 limit 2 would say exceeded). 2025-01-15 NH3-N 3.5 under DB33/2169 existing, cold 4 → compliant.
    - P03 2024-10-01: no packet at all, inside its monitoring period → a day of its own, insufficient_data."""
    path, _ = built
    rows = {(r["plant_id"], r["date"], r["factor"]): r
            for r in _rows(path, "SELECT * FROM marts.effluent_compliance_daily")}
    r = rows[("P01", date(2024, 7, 1), "cod")]
    assert (r["daily_mean"], r["valid_hours"], r["limit_mg_l"], r["verdict"]) == (30.0, 23, 50.0, "compliant")
    r = rows[("P01", date(2024, 7, 2), "cod")]
    assert (r["verdict"], r["exceeded"], r["meets_min_valid_hours"]) == ("insufficient_data", None, False)
    r = rows[("P01", date(2024, 7, 3), "cod")]
    assert (r["daily_mean"], r["averaging"], r["verdict"]) == (55.0, "flow_weighted", "exceeded")
    r = rows[("P01", date(2024, 7, 4), "cod")]
    assert (r["daily_mean"], r["valid_hours"], r["over_range_hours"], r["likely_exceeded"], r["verdict"]) == \
        (30.0, 23, 1, True, "compliant")
    r = rows[("P01", date(2024, 7, 4), "ph")]
    assert (r["daily_mean"], r["daily_max"], r["limit_lower"], r["limit_mg_l"], r["verdict"]) == \
        (7.0958, 9.3, 6.0, 9.0, "exceeded")
    summer, winter = rows[("P03", date(2024, 7, 15), "nh3n")], rows[("P03", date(2025, 1, 15), "nh3n")]
    assert (summer["standard"], summer["limit_mg_l"], summer["verdict"]) == ("GB18918_1B", 8.0, "compliant")
    assert (winter["standard"], winter["limit_mg_l"], winter["is_cold_period"], winter["verdict"]) == \
        ("DB332169_EXISTING", 4.0, True, "compliant")
    gap = rows[("P03", date(2024, 10, 1), "nh3n")]
    assert (gap["reported_hours"], gap["verdict"]) == (0, "insufficient_data")


def test_every_mart_column_is_documented(built):
    """Columns in the warehouse = columns described in the dbt YAML, each with a description."""
    from pipelines.transform.project import MANIFEST_PATH

    path, _ = built
    manifest = json.loads(MANIFEST_PATH.read_text())
    models = {n["name"]: n for n in manifest["nodes"].values()
              if n["resource_type"] == "model" and n["schema"] == "marts"}
    tables = defaultdict(list)
    for r in _rows(path, "SELECT table_name, column_name FROM information_schema.columns "
                         "WHERE table_schema = 'marts'"):
        tables[r["table_name"]].append(r["column_name"])
    assert set(models) == set(tables)
    for name, node in models.items():
        assert node["description"].strip(), name
        assert set(node["columns"]) == set(tables[name]), name
        for column, spec in node["columns"].items():
            assert spec["description"].strip(), (name, column)


# ----------------------------------------------------------------------------------------------------
# The supervision view (issue 12) on the fixture's rows, expected values worked out by hand
# ----------------------------------------------------------------------------------------------------
def test_alerts_are_raised_and_closed_by_the_records_that_resolve_them(built):
    """Reporting date 2025-06-30. By hand from tests/fixtures/raw_warehouse.py:
    - PJ-001 planned 2025-02-28, done 2025-03-15: raised 2025-03-01, closed 2025-03-15. PJ-002 planned 2025-05-31, not
      done: open since 2025-06-01. PJ-006 planned 2025-06-01, done 2025-06-10: raised 06-02, closed 06-10. PJ-003
      (planned 2025-12-31), PJ-004 (done 05-20 ≤ 05-31) and PJ-005 (done on its planned day): no alert.
    - ZF-2024-001 整改期限 2024-04-05 without 整改完成: open since 2024-04-06; the other cases have no deadline.
    - DP-331002-0002 valid until 2025-07-30: 30 days before = 2025-06-30 ≤ the reporting date, and 甲公司's other
      permit connects at another manhole (no renewal): open since 2025-06-30. DP-331002-0003 expired 2024-01-01
      (status expired, not revoked, no other permit of 丙餐饮): open since 2023-12-02. 己印染's discharge permit ends
      2025-03-31: open since 2025-03-01. 丁洗涤's record is 登记管理, no permit: no alert. The others end 2027–2029.
    - P01 outlet COD on 2024-07-03, flow-weighted: (40·360·12 + 60·1080·12) / (360·12 + 1080·12) = 55 > 50: one
      exceedance, closed by 2024-07-04 (COD 30, the over-range hour not valid). pH on 2024-07-04 reaches 9.3 > 9:
      open (no later pH day). P01's COD 60 on 2024-07-02 has only 10 valid hours: no exceedance; P03's NH3-N
      complies (2.5 ≤ 8 under 一级B in 2024, 3.5 ≤ 4 in the 2025 cold period).
    - Municipal BOD5: P03 100 in 2024-02 (not above 100) opens, 100 again in 2024-08, 100.5 in 2025-02 closes on
      2025-02-01; P04 95 in 2024-05 opens and no later month closes it.
    - Every feed was delivered on 2025-06-01: the daily feeds (plant_lab, plant_online: 2 days) are overdue from
      2025-06-04; monthly feeds (45 days) not yet; alert_acks has no cadence.
    """
    path, _ = built
    rows = {r["alert_key"]: r for r in _rows(path, "SELECT * FROM marts.alerts")}
    expected = {
        "project_overdue|PJ-001|2025-03-01": ("closed", date(2025, 3, 15)),
        "project_overdue|PJ-002|2025-06-01": ("open", None),
        "rectification_overdue|ZF-2024-001|2024-04-06": ("open", None),
        "permit_expiring|DP-331002-0002|2025-06-30": ("open", None),
        "permit_expiring|DP-331002-0003|2023-12-02": ("open", None),
        "permit_expiring|91331002MA2CW9012W001P|2025-03-01": ("open", None),
        "project_overdue|PJ-006|2025-06-02": ("closed", date(2025, 6, 10)),
        "effluent_exceedance|P01|cod|2024-07-03": ("closed", date(2024, 7, 4)),
        "effluent_exceedance|P01|ph|2024-07-04": ("open", None),
        "bod5_low|P03|2024-02-01": ("closed", date(2025, 2, 1)),
        "bod5_low|P04|2024-05-01": ("open", None),
        "feed_overdue|plant_lab|2025-06-04": ("open", None),
        "feed_overdue|plant_online|2025-06-04": ("open", None),
    }
    for key, (state, closed_on) in expected.items():
        assert key in rows, key
        assert (rows[key]["state"], rows[key]["closed_on"]) == (state, closed_on), key
    for kind in ("project_overdue", "rectification_overdue", "permit_expiring", "effluent_exceedance", "bod5_low",
                 "feed_overdue"):
        found = {k for k in rows if k.startswith(kind + "|")}
        assert found == {k for k in expected if k.startswith(kind + "|")}, kind
    assert rows["effluent_exceedance|P01|cod|2024-07-03"]["closed_by_record"] == \
        "effluent_compliance_daily P01 cod 2024-07-04 达标"
    assert rows["project_overdue|PJ-001|2025-03-01"]["age_days"] == 14
    assert rows["feed_overdue|plant_online|2025-06-04"]["responsible_unit_name"] == "市生态环境局"


def test_task_ledger_on_the_fixture(built):
    """By hand from TASK_PROGRESS: 1.3 椒江 reported 已完成 on 2023-11-20 (deadline 2023-11-30, on time, with 文号);
    1.3 台州湾新区 has no report and its deadline passed → 逾期; 1.4 台州湾新区 reported 进行中 on 2025-05-10, deadline
    2024-12-31 → 逾期, led by 市建设局; 9.1 (city) 已销号 on 2024-03-01."""
    path, _ = built
    rows = _rows(path, "SELECT DISTINCT item_code, district_code, status_zh, completed_on, completed_late, lead_units, "
                       "overdue_days FROM marts.task_ledger WHERE item_code IN ('1.3', '1.4', '9.1')")
    got = {(r["item_code"], r["district_code"]): r for r in rows}
    assert (got[("1.3", "331002")]["status_zh"], got[("1.3", "331002")]["completed_on"],
            got[("1.3", "331002")]["completed_late"]) == ("已完成", date(2023, 11, 20), False)
    assert got[("1.3", "331099")]["status_zh"] == "逾期"
    assert got[("1.4", "331099")]["status_zh"] == "逾期" and got[("1.4", "331099")]["lead_units"] == "市建设局"
    assert got[("1.4", "331099")]["overdue_days"] == 181                 # 2024-12-31 → 2025-06-30
    assert (got[("9.1", "331000")]["status_zh"], got[("9.1", "331000")]["completed_on"]) == ("已销号", date(2024, 3, 1))
