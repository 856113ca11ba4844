"""inspections: CCTV/QV/sonar results per contractor batch (.xlsx), one row per defect.

Coverage by length differs by district (places.District.coverage); contractors work street by
street, oldest networks first, from spring 2023 to the reporting date. Defect counts follow
calibration.py (PACP rates by material, age effect, negative binomial); a segment inspected
without defects appears once with an empty defect code and position 0. Sonar sees the cross-section
under water, not the wall (CJJ 181-2012 §5): a sonar inspection reports functional codes only. Some
CCTV-inspected segments are re-checked by sonar later (a 声纳复查 batch per district, sediment after
dredging): their structural grade must stay the CCTV's.
"""
from __future__ import annotations

import datetime as dt

import numpy as np

from pipelines.sample import calibration as cal
from pipelines.sample import mess
from pipelines.sample.census import Census
from pipelines.sample.context import Context
from pipelines.sample.common import person
from pipelines.sample.places import AS_OF, INSPECTION_COMPANIES
from pipelines.sample.rand import choice_rows
from pipelines.sample.table import Sheet, Spoil, present
from pipelines.sample.writers import write_xlsx

COLUMNS = ["batch_id", "segment_id", "inspected_on", "method", "inspected_length_m", "defect_code", "defect_grade",
           "defect_position_m", "defect_length_m"]
GRADE_STYLES = ("int", "text", "chinese", "roman")
GRADE_TEXT = {"int": (1, 2, 3, 4), "text": ("1", "2", "3", "4"), "chinese": ("一级", "二级", "三级", "四级"),
              "roman": ("Ⅰ级", "Ⅱ级", "Ⅲ级", "Ⅳ级")}
CONTINUOUS = ("CJ", "JG", "SL", "FS", "SG")
ROWS_PER_BATCH = 1500


def write_inspections(ctx: Context, census: Census) -> dict:
    """Writes the district's batches; returns the problem segments (structural grade ≥ 3, i.e.
    CJJ 181 grade III–IV) with their inspection dates, for the upgrade projects."""
    net = census.net
    d = net.district
    rng = ctx.rng("inspections", d.code)
    m = net.n_segments
    if m == 0:
        return {"segments": np.array([], dtype=object), "dates": np.array([], dtype="datetime64[D]")}

    # Which segments: street runs in priority order (older first, with noise) until the
    # district's coverage by length is reached.
    run = net.run[net.seg_node]
    n_runs = int(run.max()) + 1
    run_year = np.full(n_runs, 3000.0)
    np.minimum.at(run_year, run, net.year.astype(float))
    priority = -run_year + rng.normal(0, 12, n_runs)
    run_rank = np.argsort(np.argsort(-priority))
    order = np.lexsort((np.arange(m), run_rank[run]))
    order = order[~census.absent_segment[order]]      # a segment the census lacks is not inspected by its id
    cum = np.cumsum(net.length[order]) / net.length[order].sum()
    chosen = order[: int(np.searchsorted(cum, d.coverage)) + 1]
    n_ins = len(chosen)

    start = np.datetime64("2023-03-01") + int(rng.integers(0, 60))
    end = np.datetime64(AS_OF) - 5
    span = int((end - start).astype(int))
    days = start + np.sort(rng.integers(0, span + 1, n_ins)).astype("timedelta64[D]")

    # defects per inspected segment
    mat = net.material[chosen]
    age = (AS_OF.year - net.year[chosen]).astype(float)
    rate = np.array([cal.MATERIAL_RATE[x] for x in mat])
    mean = (cal.DEFECTS_PER_100M_RC_AT_20Y * rate * cal.age_factor(age) / cal.age_factor(np.array([20.0]))
            * net.length[chosen] / 100)
    lam = mean * rng.gamma(cal.DEFECT_DISPERSION, 1 / cal.DEFECT_DISPERSION, n_ins)
    ins_len = np.round(net.length[chosen] * rng.uniform(0.96, 1.0, n_ins), 1)
    max_defects = np.maximum((ins_len * 10).astype(int) // 2 - 1, 0)  # room for distinct 0.1 m positions
    count = np.minimum(rng.poisson(lam), np.minimum(max_defects, 40))
    rows_per = np.maximum(count, 1)
    n_rows = int(rows_per.sum())
    seg_of_row = np.repeat(np.arange(n_ins), rows_per)
    has_defect = np.repeat(count > 0, rows_per)
    k_in_seg = np.arange(n_rows) - np.repeat(np.cumsum(rows_per) - rows_per, rows_per)

    group_index = {"RC": 0, "PLASTIC": 1, "CLAY": 2}
    group = np.array([group_index[cal.MATERIAL_GROUP[x]] for x in mat])[seg_of_row]
    probs = np.stack([cal.code_mix(g) for g in ("RC", "PLASTIC", "CLAY")])
    code_idx = choice_rows(rng, probs[group])
    codes = np.array(cal.CODES, dtype=object)[code_idx]
    grade = choice_rows(rng, cal.grade_probs(codes.astype(str), age[seg_of_row])) + 1

    # distinct positions along the pipe, in decimetres: sorted draws per segment, then forced
    # at least 1 dm apart
    L_dm = (ins_len * 10).astype(int)[seg_of_row]
    raw = rng.random(n_rows)
    raw = raw[np.lexsort((raw, seg_of_row))] if n_rows else raw
    n_k = rows_per[seg_of_row]
    room = np.maximum(L_dm - n_k - 2, 1)
    pos_dm = _distinct_positions(1 + (raw * room).astype(np.int64), k_in_seg, seg_of_row)
    position = np.where(has_defect, pos_dm / 10.0, 0.0)
    cont = np.isin(codes, CONTINUOUS) & (rng.random(n_rows) < 0.5)
    dlen = np.where(cont, np.round(rng.uniform(0.5, 6.0, n_rows), 1), np.round(rng.uniform(0.1, 0.5, n_rows), 1))
    dlen = np.minimum(dlen, np.maximum(ins_len[seg_of_row] - position, 0.1))

    seg_ids = census.seg_ids[chosen].copy()
    orphan = rng.random(n_ins) < 0.003
    seg_ids[orphan] = [f"GD{d.code}9{k:05d}" for k in rng.integers(0, 99999, int(orphan.sum()))]

    structural = np.isin(codes, cal.STRUCTURAL) & has_defect & (grade >= 3)

    cctv_segments: set[str] = set()
    n_batches = int(np.clip(round(n_rows / ROWS_PER_BATCH), 2, 60))
    bounds = np.linspace(0, n_ins, n_batches + 1).astype(int)
    for b in range(n_batches):
        lo, hi = bounds[b], bounds[b + 1]
        if hi <= lo:
            continue
        rows = np.flatnonzero((seg_of_row >= lo) & (seg_of_row < hi))
        spoiled, sonar = _write_batch(ctx, d, b, rows, seg_ids[seg_of_row[rows]], days[seg_of_row[rows]],
                                      ins_len[seg_of_row[rows]], codes[rows], grade[rows], has_defect[rows],
                                      position[rows], dlen[rows], orphan[seg_of_row[rows]],
                                      net.diameter[chosen][seg_of_row[rows]])
        structural[rows[spoiled]] = False
        structural[rows[sonar]] = False          # sonar finds no structural defect
        cctv = ~sonar
        cctv_segments.update(seg_ids[seg_of_row[rows[cctv]]].tolist())
    _write_sonar_recheck(ctx, d, seg_ids, days, ins_len, orphan, cctv_segments)
    # problem segments: a structural defect of grade 3–4 in a row that reached the warehouse intact
    problem = np.zeros(n_ins, dtype=bool)
    problem[seg_of_row[structural]] = True
    problem &= ~orphan
    return {"segments": census.seg_ids[chosen][problem], "dates": days[problem],
            "inspected_length_m": float(net.length[chosen].sum()), "rows": n_rows}


def _distinct_positions(pos_dm: np.ndarray, k: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """Make positions strictly increasing within each segment: p'_k = max over j ≤ k of
    (p_j - j) + k, a running maximum that restarts at each segment."""
    if len(pos_dm) == 0:
        return pos_dm
    q = pos_dm - k
    offset = seg.astype(np.int64) * 10**9
    run_max = np.maximum.accumulate(q + offset) - offset
    return run_max + k


SONAR_RECHECK_SHARE = 0.04


def _write_sonar_recheck(ctx, d, seg_ids, days, ins_len, orphan, cctv_segments: set[str]) -> None:
    """A later sonar check (声纳复查) of a few CCTV-inspected segments: sediment only (CJ 1–2) or nothing."""
    rng = ctx.rng("inspections", d.code, "sonar_recheck")
    candidates = np.flatnonzero(~orphan & np.isin(seg_ids, sorted(cctv_segments))
                                & (days <= np.datetime64(AS_OF) - 40))
    if len(candidates) == 0:
        return
    n = max(1, int(round(SONAR_RECHECK_SHARE * len(candidates))))
    pick = np.sort(rng.choice(candidates, size=min(n, len(candidates)), replace=False))
    later = np.minimum(days[pick] + rng.integers(30, 300, len(pick)).astype("timedelta64[D]"),
                       np.datetime64(AS_OF) - 5)
    sediment = rng.random(len(pick)) < 0.6
    grades = GRADE_TEXT["int"]
    cells = {
        "batch_id": [f"JC{d.code}-SN-{mess.to_date(later.min()):%Y%m}"] * len(pick),
        "segment_id": seg_ids[pick],
        "inspected_on": mess.date_cells(later, rng, "iso", mess.XLSX_DATE_STYLES, other_share=0.0,
                                        fullwidth_share=0.0),
        "method": ["声纳"] * len(pick),
        "inspected_length_m": [round(float(v), 1) for v in ins_len[pick]],
        "defect_code": ["CJ" if s else None for s in sediment],
        "defect_grade": [grades[int(g)] if s else None for s, g in zip(sediment, rng.integers(0, 2, len(pick)))],
        "defect_position_m": [round(float(p), 1) if s else 0
                              for s, p in zip(sediment, rng.uniform(0.1, 0.9, len(pick)) * ins_len[pick])],
        "defect_length_m": [round(float(v), 1) if s else None for s, v in zip(sediment, rng.uniform(1, 5, len(pick)))],
    }
    sheet = Sheet(COLUMNS, cells)
    batch_id = cells["batch_id"][0]
    name = f"{d.code}_{d.name}_声纳复查_{batch_id}.xlsx"
    path, truth = ctx.new_file("inspections", name, "xlsx")
    headers = pick_headers_for(ctx.contracts["inspections"], rng)
    truth.header_row = write_xlsx(path, headers, sheet, f"{d.name}污水管道声纳复查结果（{batch_id}）",
                                  f"备注：声纳检测只评定功能性状况。填报人：{person(rng)}", sheet_name="检测结果")
    sheet.finish(truth)
    ctx.delivered(path, mess.to_date(later.max()) + dt.timedelta(days=7))


def _write_batch(ctx, d, b, rows, seg_ids, days, ins_len, codes, grade, has_defect, position, dlen, orphan,
                 diameter) -> tuple[np.ndarray, np.ndarray]:
    """Write one batch; returns the positions (within ``rows``) of the rows it spoiled, and which rows are
    sonar (functional codes only)."""
    rng = ctx.rng("inspections", d.code, "batch", b)
    contract = ctx.contracts["inspections"]
    n = len(rows)
    first_day = mess.to_date(days.min())
    last_day = mess.to_date(days.max())
    batch_id = f"JC{d.code}-{first_day:%Y%m}-{b + 1:02d}"
    company = INSPECTION_COMPANIES[int(rng.integers(0, len(INSPECTION_COMPANIES)))]
    headers = pick_headers_for(contract, rng)
    grade_style = GRADE_STYLES[int(rng.integers(0, 4))]
    method_main = ("CCTV", "CCTV", "CCTV", "QV")[int(rng.integers(0, 4))]
    sonar_label = ("声纳", "声呐", "SONAR")[int(rng.integers(0, 3))]
    big = diameter >= 1000
    method = np.where(big & (rng.random(n) < 0.5), sonar_label, method_main)
    seg_method = {}
    for s, mth in zip(seg_ids, method):       # one method per segment
        seg_method.setdefault(s, mth)
    method = np.array([seg_method[s] for s in seg_ids], dtype=object)
    sonar = method == sonar_label
    # sonar reports what it can see: a structural code becomes sediment of the same grade
    codes = np.where(sonar & np.isin(codes, cal.STRUCTURAL), "CJ", codes)
    date_style = mess.XLSX_DATE_STYLES[int(rng.choice(6, p=[0.2, 0.1, 0.05, 0.05, 0.2, 0.4]))]
    date_cells = mess.date_cells(days, rng, date_style, mess.XLSX_DATE_STYLES, other_share=0.03,
                                 fullwidth_share=0.005)
    grades = GRADE_TEXT[grade_style]
    text_numbers = rng.random() < 0.2

    def num(v, decimals=1):
        if text_numbers:
            t = f"{v:.{decimals}f}"
            return mess.fullwidth(t) if rng.random() < 0.01 else t
        return round(float(v), decimals)

    cells = {
        "batch_id": [batch_id] * n,
        "segment_id": seg_ids,
        "inspected_on": date_cells,
        "method": method,
        "inspected_length_m": [num(v) for v in ins_len],
        "defect_code": [c if h else None for c, h in zip(codes, has_defect)],
        "defect_grade": [grades[g - 1] if h else None for g, h in zip(grade, has_defect)],
        "defect_position_m": [num(p) if h else 0 for p, h in zip(position, has_defect)],
        "defect_length_m": [num(v) if h else None for v, h in zip(dlen, has_defect)],
    }
    sheet = Sheet(COLUMNS, cells)
    for i in np.flatnonzero(orphan):
        sheet.anomaly(i, "orphan_reference", "segment_id")

    col = contract.column
    has_code = lambda s: present(s, "defect_code")  # noqa: E731
    short_codes = tuple(c for c, g in cal.ALLOWED_GRADES.items() if len(g) < 4)   # FS, TL, AJ, CR, FZ
    limited = lambda s: np.isin(s.cells["defect_code"].astype(str), short_codes)  # noqa: E731

    def bad_grade(r, s, i):
        code = s.cells["defect_code"][i]
        bad = [g for g in (1, 2, 3, 4) if g not in cal.ALLOWED_GRADES[code]]
        return grades[bad[int(r.integers(0, len(bad)))] - 1]

    date_fmt = "iso" if date_style in ("cell", "serial") else date_style
    menu = [
        Spoil("defect_grade", "grade_for_code", bad_grade, eligible=limited),
        Spoil("defect_grade", "required", lambda r, s, i: None, eligible=has_code),
        mess.spoil_enum(col("method")),
        mess.spoil_range(col("inspected_on"), date_style=date_fmt),
        mess.spoil_type(col("inspected_on")),
        mess.spoil_range(col("inspected_length_m"), as_text=text_numbers),
        mess.spoil_type(col("inspected_length_m")),
        mess.spoil_required("inspected_on"), mess.spoil_required("method"),
        Spoil("defect_length_m", "range", lambda r, s, i: -round(float(r.uniform(0.1, 3)), 1), eligible=has_code),
        Spoil("defect_length_m", "type", lambda r, s, i: mess.type_garbage(col("defect_length_m"), r),
              eligible=has_code),
    ]
    plan = ctx.plan("inspections", menu)
    plan.apply(sheet, rng)
    name = f"{d.code}_{d.name}_管道检测_{batch_id}.xlsx"
    path, truth = ctx.new_file("inspections", name, "xlsx")
    title = f"{d.name}污水管道检测缺陷汇总表（{batch_id}）"
    subtitle = f"检测单位：{company}    长度单位：m    检测时间：{first_day:%Y年%m月}—{last_day:%Y年%m月}" \
        if rng.random() < 0.5 else None
    remarks = (f"备注：缺陷等级依据CJJ 181-2012评定。填报人：{person(rng)}  审核人：{person(rng)}  "
               f"填报日期：{last_day + dt.timedelta(days=5):%Y年%m月%d日}")
    truth.header_row = write_xlsx(path, headers, sheet, title, remarks, subtitle=subtitle,
                                  spacer=rng.random() < 0.5, sheet_name="检测结果")
    sheet.finish(truth)
    ctx.delivered(path, last_day + dt.timedelta(days=7))
    return np.array(sorted(sheet.reasons), dtype=np.int64), sonar


def pick_headers_for(contract, rng):
    return mess.pick_headers(contract, COLUMNS, rng)
