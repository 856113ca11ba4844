"""The dbt marts on the hand-made fixture warehouse, built through Dagster (dagster-dbt ``dbt build``),
against an independent recomputation in plain Python of pipe_segments, district_progress and
city_bod5_kpi from the fixture's rows (tests/fixtures/raw_warehouse.py).

The recomputation follows DOMAIN.md §2 and §6 and docs/marts.md, and uses its own copy of the CJJ 181
tables, so a wrong seed value or a wrong formula in the models shows up as a disagreement.
"""
from __future__ import annotations

import calendar
import fcntl
import json
import math
import os
from collections import defaultdict, deque
from datetime import date

import pytest

from pipelines import duck
from tests.fixtures import raw_warehouse as fx

REPORTING_DATE = fx.REPORTING_DATE
PLAN_START = date(2023, 12, 31)
ALPHA = 1.1

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
def _build(directory):
    from dagster import materialize

    from pipelines.resources import WarehouseResource
    from pipelines.transform.assets import dbt_models, dbt_resource

    path = fx.build(directory / "warehouse.duckdb")
    result = materialize(
        [dbt_models],
        resources={"dbt": dbt_resource(), "warehouse": WarehouseResource(path=str(path))},
        run_config={"ops": {"dbt_models": {"config": {"reporting_date": REPORTING_DATE.isoformat()}}}},
        raise_on_error=False,
    )
    def failures(evaluation):
        count = evaluation.metadata.get("dagster_dbt/failed_row_count")
        return None if count is None else count.value

    return {"success": result.success,
            "checks": [{"name": e.check_name, "passed": e.passed, "severity": e.severity.value,
                        "failures": failures(e)} for e in result.get_asset_check_evaluations()]}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Built once per test session, also across pytest-xdist workers: the first worker builds under a
    lock in the session's shared temp root and records the Dagster result; the others read the file."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    directory = root / "marts_fixture"
    directory.mkdir(exist_ok=True)
    with open(directory / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        summary_path = directory / "result.json"
        if not summary_path.exists():
            summary_path.write_text(json.dumps(_build(directory)))
        summary = json.loads(summary_path.read_text())
    return directory / "warehouse.duckdb", summary


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
    groups = []  # merge defects whose clear distance to the previous group's end is <= 1.0 m
    for points, start, end in defects:
        if groups and round(start - groups[-1][2], 3) <= 1.0:
            g = groups[-1]
            groups[-1] = (max(g[0], points), g[1], max(g[2], end))
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
    """CJJ 181 indices and grades of one inspection (its defect rows)."""
    structural, functional = [], []
    for r in rows:
        code = r["defect_code"]
        if not code:
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
    return dict(structural_f=f, functional_g=g, ri=ri, mi=mi, structural_grade=condition_grade(f),
                functional_grade=condition_grade(g), ri_grade=index_grade(ri), mi_grade=index_grade(mi),
                k=k, e=e, t=t, structural_density=sm, structural_extent=extent(sm),
                functional_density=ym, functional_extent=extent(ym))


def expected_pipe_segments():
    """Latest condition per segment, plus the register (reasons and their dates) from every inspection."""
    pipes = {p["segment_id"]: p for p in fx.CENSUS_PIPES}
    by_inspection = defaultdict(list)
    for row in fx.INSPECTIONS:
        by_inspection[(row["segment_id"], row["batch_id"])].append(row)
    history = defaultdict(list)  # segment -> [(inspected_on, batch, scores)]
    for (seg, batch), rows in by_inspection.items():
        if seg in pipes:
            history[seg].append((rows[0]["inspected_on"], batch, _score(pipes[seg], rows)))

    out = {}
    for seg, pipe in pipes.items():
        rec = {"segment_id": seg, "structural_f": None, "functional_g": None, "ri": None, "mi": None,
               "structural_grade": None, "functional_grade": None, "ri_grade": None, "mi_grade": None,
               "k": None, "e": None, "t": None, "structural_density": None, "structural_extent": None,
               "functional_density": None, "functional_extent": None,
               "last_inspected_on": None, "first_inspected_on": None}
        if history[seg]:
            inspected_on, _, scores = max(history[seg], key=lambda h: (h[0], h[1]))
            rec.update(scores, last_inspected_on=inspected_on, first_inspected_on=min(h[0] for h in history[seg]))
        out[seg] = rec

    network = trace_network()
    for seg, rec in out.items():
        rec["downstream_plant_id"] = network["segment_plant"].get(seg)
        rec["is_reversed"] = seg in network["reversed"]
    reasons, graded = problem_reasons(history, network)
    identified, resolved = problem_dates(reasons, graded)
    for seg, rec in out.items():
        rec["in_problem_register"] = seg in reasons
        rec["is_problem"] = seg in reasons and not (resolved[seg] and resolved[seg] <= REPORTING_DATE)
    return out, (reasons, identified, resolved)


def trace_network():
    """Orientation by inverts and breadth-first search upstream from each plant inlet."""
    edges, reversed_ = {}, set()
    for p in fx.CENSUS_PIPES:
        if p["pipe_category"] not in ("sewage", "combined") or p["start_manhole_id"] == p["end_manhole_id"]:
            continue
        a, b = p["start_manhole_id"], p["end_manhole_id"]
        si, ei = p["start_invert_m"], p["end_invert_m"]
        if si is not None and ei is not None and ei - si > 0.01:
            a, b = b, a
            reversed_.add(p["segment_id"])
        edges[p["segment_id"]] = (a, b)
    into = defaultdict(list)
    for seg, (a, b) in edges.items():
        into[b].append(a)
    manhole_plants = defaultdict(set)
    for plant in fx.PLANTS:
        queue, seen = deque([plant["inlet_manhole_id"]]), {plant["inlet_manhole_id"]}
        while queue:
            node = queue.popleft()
            manhole_plants[node].add(plant["plant_id"])
            for up in into[node]:
                if up not in seen:
                    seen.add(up)
                    queue.append(up)
    segment_plant = {seg: min(manhole_plants[b]) for seg, (a, b) in edges.items() if manhole_plants[b]}
    return {"edges": edges, "reversed": reversed_, "segment_plant": segment_plant, "manhole_plants": manhole_plants}


def problem_reasons(history, network):
    """Register reasons per segment; graded[(seg, reason)] = (first date graded III–IV, next date graded I–II)."""
    reasons, graded = defaultdict(set), {}
    census = {p["segment_id"] for p in fx.CENSUS_PIPES}
    for seg, inspections in history.items():
        for reason, column in (("structural_grade", "structural_grade"), ("ri_grade", "ri_grade")):
            bad = [on for on, _, sc in inspections if sc[column] in ("III", "IV")]
            if not bad:
                continue
            first_bad = min(bad)
            later_good = [on for on, _, sc in inspections if on > first_bad and sc[column] in ("I", "II")]
            reasons[seg].add(reason)
            graded[(seg, reason)] = (first_bad, min(later_good, default=None))
    for m in fx.MISCONNECTIONS:
        if m["severity"] == "severe":
            seg = m["segment_id"] or next((s for s, (a, _) in network["edges"].items() if a == m["manhole_id"]), None)
            if seg in census:
                reasons[seg].add("severe_misconnection")
    # Capacity: Manning full-pipe flow against valid permitted discharge traced downstream.
    load = defaultdict(float)
    out_of = defaultdict(list)
    for seg, (a, b) in network["edges"].items():
        out_of[a].append((seg, b))
    for permit in fx.DRAINAGE_PERMITS:
        if not ((permit["status"] or "valid") == "valid" and permit["issued_on"] <= REPORTING_DATE <= permit["valid_until"]):
            continue
        queue, seen = deque([permit["connection_manhole_id"]]), {permit["connection_manhole_id"]}
        while queue:
            node = queue.popleft()
            for seg, nxt in out_of[node]:
                load[seg] += permit["permitted_volume_m3d"]
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
    pipes = {p["segment_id"]: p for p in fx.CENSUS_PIPES}
    for seg, (a, b) in network["edges"].items():
        p = pipes[seg]
        if p["start_invert_m"] is None or p["end_invert_m"] is None:
            continue
        up, down = (p["end_invert_m"], p["start_invert_m"]) if seg in network["reversed"] else \
            (p["start_invert_m"], p["end_invert_m"])
        fall = (up - down) / p["length_m"]
        if fall <= 0:
            continue
        if p["diameter_mm"]:
            d = p["diameter_mm"] / 1000
            area, radius = math.pi * d * d / 4, d / 4
        else:
            w, h = p["box_width_mm"] / 1000, p["box_height_mm"] / 1000
            area, radius = w * h, w * h / (2 * (w + h))
        q_m3d = area * radius ** (2 / 3) * math.sqrt(fall) / MANNING[p["material"]] * 86400
        if load[seg] / q_m3d > 0.8:
            reasons[seg].add("capacity")
    return reasons, graded


def _month_ends(start: date, end: date) -> list[date]:
    out, y, m = [], start.year, start.month
    while date(y, m, 1) <= end:
        out.append(date(y, m, calendar.monthrange(y, m)[1]))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


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


def problem_dates(reasons, graded):
    """Identification and rectification dates from inspections, projects and misconnections."""
    identified, resolved = {}, {}
    misc_by_seg = defaultdict(list)
    for m in fx.MISCONNECTIONS:
        if m["severity"] == "severe" and m["segment_id"]:
            misc_by_seg[m["segment_id"]].append(m)
    projects_by_seg = defaultdict(list)
    for pr in fx.UPGRADE_PROJECTS:
        for seg in pr["segment_ids"]:
            projects_by_seg[seg].append(pr)
    for seg, why in reasons.items():
        dates = [graded[(seg, r)][0] for r in why if (seg, r) in graded]
        if "severe_misconnection" in why:
            dates.append(min(m["found_on"] for m in misc_by_seg[seg]))
        identified[seg] = min(dates) if dates else PLAN_START
        done = [pr for pr in projects_by_seg[seg] if pr["status"] in ("completed", "accepted")
                and pr["actual_completion_on"] and pr["actual_completion_on"] >= identified[seg]]
        per_reason = []
        for reason in why:
            if reason == "severe_misconnection":
                ms = misc_by_seg[seg]
                by_misc = (max(m["rectified_on"] or m["found_on"] for m in ms)
                           if all(m["rectification_status"] == "rectified" for m in ms) else None)
                by_sep = min((pr["actual_completion_on"] for pr in done if pr["project_type"] == "separation"),
                             default=None)
                per_reason.append(min([d for d in (by_misc, by_sep) if d], default=None))
            else:
                by_project = min((pr["actual_completion_on"] for pr in done), default=None)
                by_inspection = graded[(seg, reason)][1] if (seg, reason) in graded else None
                per_reason.append(min([d for d in (by_project, by_inspection) if d], default=None))
        resolved[seg] = max(per_reason) if all(per_reason) else None
    return identified, resolved


def expected_district_progress(segments, register):
    """Month-end lengths per district/scope from the register's identification and rectification dates."""
    reasons, identified, resolved = register
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
            inspected = sum(p["length_m"] for p in pipes
                            if segments[p["segment_id"]]["first_inspected_on"]
                            and segments[p["segment_id"]]["first_inspected_on"] <= as_of)
            problem = sum(p["length_m"] for p in pipes if p["segment_id"] in reasons
                          and identified[p["segment_id"]] <= as_of)
            rectified = sum(p["length_m"] for p in pipes if p["segment_id"] in reasons
                            and identified[p["segment_id"]] <= as_of
                            and resolved[p["segment_id"]] and resolved[p["segment_id"]] <= as_of)
            ipct = round(100 * inspected / network, 4) if network else None
            rpct = round(100 * rectified / problem, 4) if problem else None
            _, i_exp = _expected_pct("inspected", as_of)
            _, r_exp = _expected_pct("rectified", as_of)
            i_ok = (ipct or 0) >= round(i_exp, 4)
            r_ok = (100 if rpct is None else rpct) >= round(r_exp, 4)
            out[(district, scope, as_of)] = dict(
                network_length_m=network, inspected_length_m=inspected, inspected_pct=ipct,
                problem_length_m=problem, rectified_length_m=rectified, rectified_pct=rpct,
                inspected_expected_pct=round(i_exp, 4), rectified_expected_pct=round(r_exp, 4),
                inspected_on_track=i_ok, rectified_on_track=r_ok, on_track=i_ok and r_ok)
    return out


def expected_city_bod5():
    samples = defaultdict(list)
    for s in fx.PLANT_LAB:
        if s["sampling_point"] == "influent" and s["bod5_mg_l"] is not None:
            samples[(s["plant_id"], s["sampled_on"].year)].append(s["bod5_mg_l"])
    years = sorted({y for _, y in samples})
    out = {}
    for year in years:
        plants = [p for p in fx.PLANTS if p["plant_type"] == "municipal"
                  and (p["commissioned_on"] is None or p["commissioned_on"].year <= year)]
        total = sum(p["design_capacity_m3d"] for p in plants)
        above = sum(p["design_capacity_m3d"] for p in plants
                    if samples.get((p["plant_id"], year))
                    and sum(samples[(p["plant_id"], year)]) / len(samples[(p["plant_id"], year)]) > 100)
        share = round(100 * above / total, 4)
        out[year] = dict(plants_total=len(plants), capacity_total_m3d=total, capacity_above_100_m3d=above,
                         capacity_share_pct=share, met=share >= 90)
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
    }
    return {name: n for name, n in counts.items() if n}


def test_dbt_build_succeeds_with_exactly_the_expected_findings(built):
    """Exactly the fixture's deliberate orphans fail, as WARN, with their row counts: a new finding of any
    severity (a not_null, a relationship, a mart invariant) fails this test instead of passing unnoticed."""
    _, result = built
    assert result["success"]
    checks = result["checks"]
    assert len(checks) > 100
    failed = {c["name"]: (c["severity"], c["failures"]) for c in checks if not c["passed"]}
    expected = expected_warn_findings()
    # the fixture's faults, counted by hand: G2, NOPE-1, NO-SUCH-MH, and the inlets of P04, P05, P06
    assert sorted(expected.values()) == [1, 1, 1, 3]
    assert failed == {name: ("WARN", count) for name, count in expected.items()}


def test_pipe_segments_agree_with_python(built):
    path, _ = built
    expected, _ = expected_pipe_segments()
    actual = {r["segment_id"]: r for r in _rows(path, "SELECT * FROM marts.pipe_segments")}
    assert set(actual) == set(expected)
    for seg, exp in expected.items():
        for column, value in exp.items():
            got = actual[seg][column]
            if isinstance(value, float) and got is not None:
                assert got == pytest.approx(value, abs=1e-4), (seg, column)
            else:
                assert got == value, (seg, column, got, value)


def test_district_progress_agrees_with_python(built):
    path, _ = built
    segments, reasons = expected_pipe_segments()
    expected = expected_district_progress(segments, reasons)
    actual = {(r["district_code"], r["scope"], r["as_of"]): r
              for r in _rows(path, "SELECT * FROM marts.district_progress")}
    assert set(actual) == set(expected)
    for key, exp in expected.items():
        for column, value in exp.items():
            got = actual[key][column]
            if isinstance(value, float) and got is not None:
                assert got == pytest.approx(value, abs=1e-4), (key, column)
            else:
                assert got == value, (key, column, got, value)


def test_repaired_and_reinspected_pipe_stays_a_rectified_problem(built):
    """YH-Y2: grade IV on 2024-05-10, clean on 2025-04-20, PJ-004 completed 2025-05-20 (hand-worked values)."""
    path, _ = built
    seg = _rows(path, "SELECT * FROM marts.pipe_segments WHERE segment_id = 'YH-Y2'")[0]
    assert (seg["structural_grade"], seg["in_problem_register"], seg["is_problem"]) == ("I", True, False)
    reg = _rows(path, "SELECT * FROM marts.problem_pipes WHERE segment_id = 'YH-Y2'")[0]
    assert reg["identified_on"] == date(2024, 5, 10)
    assert (reg["status"], reg["rectified_on"]) == ("rectified", date(2025, 4, 20))
    assert reg["reason_structural_grade"] and reg["reason_ri_grade"]
    progress = {r["as_of"]: r for r in _rows(
        path, "SELECT * FROM marts.district_progress WHERE district_code = '331083' AND scope = 'built_up'")}
    # YH-Y1 (70 m, misconnection found 2024-06-01, rectified 2025-02-01) and YH-Y2 (35 m)
    assert (progress[date(2024, 5, 31)]["problem_length_m"], progress[date(2024, 5, 31)]["rectified_length_m"]) == (35, 0)
    assert (progress[date(2025, 3, 31)]["problem_length_m"], progress[date(2025, 3, 31)]["rectified_length_m"]) == (105, 70)
    assert progress[date(2025, 4, 30)]["rectified_pct"] == 100.0
    portfolio = _rows(path, "SELECT * FROM marts.project_portfolio WHERE project_id = 'PJ-004'")[0]
    assert (portfolio["problem_segments_covered"], portfolio["problem_length_covered_m"]) == (1, 35)


def test_city_bod5_kpi_agrees_with_python(built):
    path, _ = built
    expected = expected_city_bod5()
    actual = {r["year"]: r for r in _rows(path, "SELECT * FROM marts.city_bod5_kpi")}
    assert set(actual) == set(expected)
    for year, exp in expected.items():
        for column, value in exp.items():
            assert actual[year][column] == pytest.approx(value, abs=1e-4), (year, column)


def test_network_anomalies_report_the_fixture_defects(built):
    path, _ = built
    found = {(r["anomaly_kind"], r["object_id"]) for r in _rows(path, "SELECT * FROM marts.network_anomalies")}
    for item in [("cycle", "JJ-C1"), ("cycle", "JJ-C2"), ("cycle", "JJ-C3"), ("cycle", "JJ-B1"), ("cycle", "JJ-B2"),
                 ("dead_end", "JJ-G2"), ("missing_manhole", "JJ-G2"), ("isolated_manhole", "JJ-ISO"),
                 ("reversed_segment", "JJ-S3"), ("no_downstream_plant", "331002"),
                 ("unknown_segment_reference", "B2024-03"), ("unknown_segment_reference", "PJ-003"),
                 ("unknown_manhole_reference", "DP-331002-0003")]:
        assert item in found, item
    # nothing on the clean tree of P01 is reported as a cycle
    assert not {o for k, o in found if k == "cycle"} & {"JJ-M000", "JJ-M001", "JJ-M002", "JJ-M004"}
    # the dead end strands JJ-G12 (15 m); the district summary counts it with the closed loop (3 × 10 m)
    details = {(r["anomaly_kind"], r["object_id"]): r["detail"]
               for r in _rows(path, "SELECT * FROM marts.network_anomalies")}
    assert "1 upstream segments (15 m)" in details[("dead_end", "JJ-G2")]
    assert details[("no_downstream_plant", "331002")].startswith("4 sewage/combined segments (45 m)")


def test_discharger_profile_flags(built):
    path, _ = built
    rows = {r["credit_code"]: r for r in _rows(path, "SELECT * FROM marts.discharger_profile")}
    a, b, c = rows[fx.CREDIT_A], rows[fx.CREDIT_B], rows[fx.CREDIT_C]
    # A connects at JJ-M005 (traced to P01) but declares P03.
    assert (a["downstream_plant_id"], a["declared_plant_id"], a["plant_disagrees"]) == ("P01", "P03", True)
    assert a["permit_expiring_soon"] and not a["has_no_valid_permit"]
    assert (b["downstream_plant_id"], b["declared_plant_id"], b["plant_disagrees"]) == ("P02", "P02", False)
    # B's second case (245 days later) was dismissed: still a case, so a repeat offender; no fine for it.
    assert (b["enforcement_cases"], b["violation_cases"], b["is_repeat_offender"]) == (2, 1, True)
    assert b["penalties_yuan"] == 100000.0 and b["last_violation_on"] == date(2025, 2, 10)
    # C: expired permit at an unknown manhole, two cases 260 days apart.
    assert c["has_no_valid_permit"] and c["is_repeat_offender"] and c["downstream_plant_id"] is None
    assert c["penalties_yuan"] == 25000.0 and c["last_violation_on"] == date(2024, 11, 20)


def test_effluent_compliance_uses_valid_hours_and_cold_period(built):
    path, _ = built
    rows = {(r["plant_id"], r["date"], r["factor"]): r
            for r in _rows(path, "SELECT * FROM marts.effluent_compliance_daily")}
    p01 = rows[("P01", date(2024, 7, 1), "cod")]
    assert (p01["daily_mean"], p01["valid_hours"], p01["limit_mg_l"], p01["exceeded"]) == (30.0, 23, 50.0, False)
    few = rows[("P01", date(2024, 7, 2), "cod")]
    assert few["exceeded"] and not few["meets_min_valid_hours"]
    summer, winter = rows[("P03", date(2024, 7, 15), "nh3n")], rows[("P03", date(2025, 1, 15), "nh3n")]
    assert (summer["limit_mg_l"], summer["exceeded"]) == (2.0, True)
    assert (winter["limit_mg_l"], winter["is_cold_period"], winter["exceeded"]) == (4.0, True, False)


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
