"""drainage_permits (综合执法局, CSV per district and quarter) and discharge_permits (生态环境局,
.xlsx per district).

Permit holders are kept in a small city-wide registry (name, credit code, district, type) that
enforcement draws its subjects from. Drainage permits connect at real manholes of their own
district (a few at manholes that exist in no census: ``orphan_reference``); discharge-permit
numbers are the holder's credit code + 3-digit site + a letter (HJ 608). Permits run five years
(construction sites 1–2), so some have expired by the reporting date, and some of those still
say 有效 (stale status, as in real registers).
"""
from __future__ import annotations

import datetime as dt

import numpy as np

from pipelines.identifiers import CREDIT_ALPHABET
from pipelines.sample import mess
from pipelines.sample.census import Census
from pipelines.sample.common import (Template, credit_code, csv_template, days_between, person, record_correction,
                                     text_date_style, write_table, xlsx_template)
from pipelines.sample.context import Context
from pipelines.sample.mess import fmt_district
from pipelines.sample.places import (AS_OF, BAY_AREA_CODE, BRAND_WORDS, DISTRICTS, HOLDER_TYPES, INDUSTRIES,
                                     YUHUAN_OLD_CODE, District)
from pipelines.sample.rand import allocate
from pipelines.sample.table import Sheet, Spoil, present

DRAINAGE_COLUMNS = ["permit_no", "holder_name", "credit_code", "holder_type", "permitted_volume_m3d",
                    "connection_manhole_id", "district_code", "issued_on", "valid_until", "status"]
DISCHARGE_COLUMNS = ["permit_no", "holder_name", "credit_code", "industry", "management_class",
                     "discharge_destination", "receiving_plant_id", "outfall_id", "permitted_cod_t_a",
                     "permitted_nh3n_t_a", "standard", "valid_from", "valid_until", "district_code"]
STATUS_LABELS = {"valid": ("有效",), "expired": ("过期", "已过期"), "revoked": ("注销", "吊销")}
QUARTERS = (("2024-06存量", dt.date(2000, 1, 1), dt.date(2024, 6, 30)),
            ("2024-09", dt.date(2024, 7, 1), dt.date(2024, 9, 30)),
            ("2024-12", dt.date(2024, 10, 1), dt.date(2024, 12, 31)),
            ("2025-03", dt.date(2025, 1, 1), dt.date(2025, 3, 31)),
            ("2025-06", dt.date(2025, 4, 1), dt.date(2025, 6, 30)))


def registration_area(rng, d: District) -> str:
    """Area code inside a credit code: the registering authority's GB/T 2260 code. 台州湾新区 firms
    register in 椒江 or at city level; older 玉环 firms carry 331021."""
    if d.code == BAY_AREA_CODE:
        return ("331002", "331000")[int(rng.integers(0, 2))]
    if d.code == "331083" and rng.random() < 0.4:
        return YUHUAN_OLD_CODE
    return d.code


def add(days: np.ndarray, n: np.ndarray | int) -> np.ndarray:
    return days + np.asarray(n).astype("timedelta64[D]")


# ---------------------------------------------------------------------------------------------
# Drainage permits

def write_drainage_permits(ctx: Context, census: Census, count: int) -> None:
    d = census.net.district
    rng = ctx.rng("drainage_permits", d.code)
    taken = ctx.shared.setdefault("credit_codes", set())
    holders = ctx.shared.setdefault("drainage_holders", [])
    if count <= 0:
        return
    shares = np.array([t[2] for t in HOLDER_TYPES])
    kind = rng.choice(len(HOLDER_TYPES), size=count, p=shares / shares.sum())
    # a few holders hold two permits (two sites)
    same_as_prev = np.r_[False, rng.random(count - 1) < 0.04]
    names, codes, types = [], [], []
    for i in range(count):
        if same_as_prev[i]:
            kind[i] = kind[i - 1]
            names.append(names[-1])
            codes.append(codes[-1])
        else:
            label, suffixes, _, _ = HOLDER_TYPES[kind[i]]
            brand = BRAND_WORDS[int(rng.integers(0, len(BRAND_WORDS)))]
            suffix = suffixes[int(rng.integers(0, len(suffixes)))]
            individual = label == "个体工商户"
            prefix = d.name + (person(rng) if individual else "")
            names.append(f"{prefix}{brand}{suffix}" if not individual else f"{prefix}{suffix}")
            codes.append(credit_code(rng, registration_area(rng, d), "92" if individual else "91", taken))
        types.append(HOLDER_TYPES[kind[i]][0])
    for i in range(count):
        if not same_as_prev[i]:
            holders.append({"name": names[i], "credit_code": codes[i], "district": d.code, "type": types[i]})

    # issue dates lean to recent years (the permit drive of the action plan)
    age_days = (rng.power(0.6, count) * (AS_OF - dt.date(2019, 1, 1)).days).astype(int)
    issued = np.datetime64(AS_OF) - age_days.astype("timedelta64[D]")
    construction = np.array(types) == "建筑施工"
    years = np.where(construction, rng.integers(1, 3, count), 5)
    valid_until = np.array([np.datetime64(_add_years(mess.to_date(x), int(y))) - 1 for x, y in zip(issued, years)])
    expired = valid_until < np.datetime64(AS_OF)
    status = np.where(expired, np.where(rng.random(count) < 0.85, "expired", "valid"),
                      np.where(rng.random(count) < 0.03, "revoked", "valid"))
    volume = np.round(np.array([HOLDER_TYPES[k][3] for k in kind]) * rng.lognormal(0, 0.6, count), 1)
    volume = np.maximum(volume, 0.5)

    # connection manholes: surveyed manholes of this district (not plant inlets), house-connection
    # manholes preferred; a few at manholes that no census has. Not the start manhole of a spoiled pipe
    # row: that pipe is quarantined, the manhole then has no pipe in the warehouse and the permit
    # could not be traced to a plant.
    net = census.net
    cut_off = np.zeros(net.n_nodes, dtype=bool)
    cut_off[net.seg_node[census.spoiled_segment]] = True
    candidates = np.flatnonzero(~census.missing_manhole & (net.parent >= 0) & ~cut_off)
    weight = np.where(net.node_type[candidates] == "接户井", 4.0, 1.0)
    manhole = census.node_ids[rng.choice(candidates, size=count, p=weight / weight.sum())].copy()
    orphan = rng.random(count) < 0.005
    manhole[orphan] = [f"WS{d.code}9{k:05d}" for k in rng.integers(0, 99999, int(orphan.sum()))]

    year_of = issued.astype("datetime64[Y]").astype(int) + 1970
    seq = np.zeros(count, dtype=int)
    for y in np.unique(year_of):
        at = np.flatnonzero(year_of == y)
        seq[at[np.argsort(issued[at], kind="stable")]] = np.arange(1, len(at) + 1)
    permit_no = np.array([f"DP-{d.code}-{y}-{s:05d}" for y, s in zip(year_of, seq)], dtype=object)
    records = {"permit_no": permit_no, "holder_name": np.array(names, dtype=object),
               "credit_code": np.array(codes, dtype=object), "holder_type": np.array(types, dtype=object),
               "permitted_volume_m3d": volume, "connection_manhole_id": manhole, "issued_on": issued,
               "valid_until": valid_until, "status": status, "orphan": orphan}

    template = csv_template(ctx, "drainage_permits", DRAINAGE_COLUMNS, ctx.rng("drainage_permits", d.code, "tpl"),
                            d.encoding)
    clean: list[tuple[int, str]] = []
    for period, lo, hi in QUARTERS:
        at = np.flatnonzero((issued >= np.datetime64(lo)) & (issued <= np.datetime64(hi)))
        at = at[np.lexsort((permit_no[at].astype(str), issued[at]))]
        if len(at) == 0:
            continue
        frng = ctx.rng("drainage_permits", d.code, period)
        sheet = _drainage_sheet(records, at, template, frng, d)
        plan = ctx.plan("drainage_permits", _drainage_menu(ctx, template))
        plan.apply(sheet, frng)
        name = f"{d.code}_{d.name}_排水许可_{period}.csv"
        path, truth = write_table(ctx, "drainage_permits", name, template, sheet, hi + dt.timedelta(days=5))
        free = sheet.free()
        clean += [(int(at[i]), truth.path) for i in np.flatnonzero(free)]

    # correction file: a few permits revoked or renewed after the quarter's file went out
    crng = ctx.rng("drainage_permits", d.code, "correction")
    if clean and crng.random() < 0.5:
        k = max(1, int(round(0.02 * len(clean))))
        picks = sorted(crng.choice(len(clean), size=min(k, len(clean)), replace=False))
        idx = np.array([clean[p][0] for p in picks])
        fixed = {key: np.array(val, copy=True) for key, val in records.items()}
        renew = (crng.random(len(idx)) < 0.5) | (records["status"][idx] == "revoked")
        fixed["valid_until"][idx] = np.where(renew, np.array([np.datetime64(_add_years(mess.to_date(v), 5))
                                                              for v in fixed["valid_until"][idx]]),
                                             fixed["valid_until"][idx])
        fixed["status"][idx] = np.where(renew, "valid", "revoked")
        sheet = _drainage_sheet(fixed, idx, template, crng, d)
        name = f"{d.code}_{d.name}_排水许可_2025-07更正.csv"
        path, truth = write_table(ctx, "drainage_permits", name, template, sheet, dt.date(2025, 7, 10))
        record_correction(ctx, "drainage_permits", truth, [[str(permit_no[i])] for i in idx],
                          [clean[p][1] for p in picks])


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:          # 29 February
        return day.replace(year=day.year + years, day=28)


def _drainage_sheet(rec: dict, at: np.ndarray, template: Template, rng, d: District) -> Sheet:
    n = len(at)
    status_label = {k: v[int(rng.integers(0, len(v)))] for k, v in STATUS_LABELS.items()}
    old_yuhuan = (d.code == "331083") & (rec["issued_on"][at] < np.datetime64("2020-01-01"))
    cells = {
        "permit_no": rec["permit_no"][at],
        "holder_name": rec["holder_name"][at],
        "credit_code": rec["credit_code"][at],
        "holder_type": rec["holder_type"][at],
        "permitted_volume_m3d": mess.number_text(rec["permitted_volume_m3d"][at], 1, rng, template.fullwidth_share),
        "connection_manhole_id": rec["connection_manhole_id"][at],
        "district_code": [fmt_district(d.code, template.district_style, bool(o)) for o in old_yuhuan],
        "issued_on": template.dates(rng, rec["issued_on"][at]),
        "valid_until": template.dates(rng, rec["valid_until"][at]),
        "status": [status_label[s] for s in rec["status"][at]],
    }
    sheet = Sheet(DRAINAGE_COLUMNS, cells)
    for i in np.flatnonzero(rec["orphan"][at]):
        sheet.anomaly(i, "orphan_reference", "connection_manhole_id")
    assert n == sheet.n
    return sheet


def _swap_dates(first: str, second: str, style: str):
    """``date_order``: the end date moved before the start date (reported on the end date)."""
    def apply(sheet: Sheet, i: int, rng) -> None:
        start = sheet.cells[first][i]
        day = _parse_cell_date(start)
        sheet.cells[second][i] = mess.fmt_date(day - dt.timedelta(days=int(rng.integers(30, 400))), style)
    return apply


def _parse_cell_date(value) -> dt.date:
    """Read back a date cell this module rendered (any style)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, int):
        return mess.EXCEL_EPOCH + dt.timedelta(days=value)
    text = str(value).translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    raise ValueError(value)


def _drainage_menu(ctx: Context, template: Template) -> list[Spoil]:
    col = ctx.contracts["drainage_permits"].column
    style = text_date_style(template)
    return [
        mess.spoil_credit_code(),
        mess.spoil_range(col("permitted_volume_m3d"), as_text=True),
        mess.spoil_type(col("permitted_volume_m3d")),
        mess.spoil_required("holder_name"),
        mess.spoil_required("connection_manhole_id"),
        mess.spoil_required("district_code"),
        mess.spoil_enum(col("holder_type")),
        mess.spoil_enum(col("status")),
        Spoil("valid_until", "date_order", apply=_swap_dates("issued_on", "valid_until", style),
              eligible=lambda s: present(s, "issued_on")),
    ]


# ---------------------------------------------------------------------------------------------
# Discharge permits (city-wide step after the districts)

def write_discharge_permits(ctx: Context, total: int, plants: list[dict]) -> None:
    weights = [d.weight * (0.5 + d.industrial_share) for d in DISTRICTS]
    counts = allocate(total, weights)
    drainage_holders = ctx.shared.get("drainage_holders", [])
    taken = ctx.shared.setdefault("credit_codes", set())
    enterprises = ctx.shared.setdefault("discharge_holders", [])
    for d, count in zip(DISTRICTS, counts):
        if count <= 0:
            continue
        rng = ctx.rng("discharge_permits", d.code)
        industrial = [h for h in drainage_holders if h["district"] == d.code and h["type"] == "工业企业"]
        rows = []
        i = 0
        while len(rows) < count:
            if industrial and rng.random() < 0.5:
                h = industrial.pop(int(rng.integers(0, len(industrial))))
                name, code = h["name"], h["credit_code"]
            else:
                brand = BRAND_WORDS[int(rng.integers(0, len(BRAND_WORDS)))]
                kind = ("化工有限公司", "制药股份有限公司", "电镀有限公司", "汽车部件有限公司", "印染有限公司",
                        "食品有限公司", "塑胶有限公司", "机电有限公司")[int(rng.integers(0, 8))]
                name = f"台州{brand}{kind}" if rng.random() < 0.5 else f"浙江{brand}{kind}"
                name = name if not any(r["name"] == name for r in rows) else f"{d.short}{name}"
                code = credit_code(rng, registration_area(rng, d), "91", taken)
            sites = 2 if rng.random() < 0.05 else 1
            for site in range(1, sites + 1):
                if len(rows) >= count:
                    break
                rows.append({"name": name, "credit_code": code, "site": site})
            enterprises.append({"name": name, "credit_code": code, "district": d.code, "type": "排污单位"})
            i += 1
        _write_discharge_file(ctx, d, rows, plants, rng)


# what a firm's name says about its industry (GB/T 4754 divisions as the permit platform writes them)
INDUSTRY_WORDS = (("化工", "化学原料和化学制品制造业"), ("制药", "医药制造业"), ("电镀", "金属表面处理及热处理加工"),
                  ("汽车", "汽车制造业"), ("部件", "汽车制造业"), ("印染", "纺织业"), ("食品", "食品制造业"),
                  ("塑", "橡胶和塑料制品业"), ("阀门", "通用设备制造业"), ("机械", "通用设备制造业"),
                  ("机电", "电气机械和器材制造业"))


def industry_of(name: str, rng) -> str:
    for word, industry in INDUSTRY_WORDS:
        if word in name:
            return industry
    return INDUSTRIES[int(rng.integers(0, len(INDUSTRIES)))]


def _write_discharge_file(ctx: Context, d: District, rows: list[dict], plants: list[dict], rng) -> None:
    n = len(rows)
    district_plants = [p for p in plants if p["district"] == d.code]
    municipal = [p for p in district_plants if not p["industrial"]] or district_plants
    industrial = [p for p in district_plants if p["industrial"]] or district_plants
    klass = rng.choice(3, size=n, p=[0.25, 0.5, 0.25])
    klass_label = np.array([("重点管理", "重点"), ("简化管理", "简化"), ("登记管理", "登记")], dtype=object)
    style = rng.integers(0, 2)
    dest = rng.choice(3, size=n, p=[0.7, 0.2, 0.1])
    dest_label = np.array(["进入城镇污水处理厂", "进入工业废水集中处理厂", "直接进入水体"], dtype=object)
    receiving = [None if k == 2 else (municipal if k == 0 else industrial)[int(rng.integers(0, 10**6)) % len(
        municipal if k == 0 else industrial)]["plant_id"] for k in dest]
    cod = np.where(klass == 0, rng.uniform(30, 500, n), np.where(klass == 1, rng.uniform(1, 40, n), np.nan))
    nh3 = cod * rng.uniform(0.06, 0.12, n)
    standard = np.array(["GB/T 31962-2015 B级", "间接排放标准", "GB/T 31962-2015 A级", "GB 8978-1996 三级",
                         "GB/T 31962-2015 C级"], dtype=object)[rng.choice(5, size=n, p=[0.5, 0.15, 0.15, 0.1, 0.1])]
    valid_from = days_between(rng, dt.date(2019, 6, 1), dt.date(2025, 6, 20), n)
    valid_until = np.array([np.datetime64(_add_years(mess.to_date(v), 5)) - 1 for v in valid_from])
    letters = np.where(rng.random(n) < 0.85, "P", np.array(list("UVWXYQ"))[rng.integers(0, 6, n)])
    permit_no = np.array([f"{r['credit_code']}{r['site']:03d}{c}" for r, c in zip(rows, letters)], dtype=object)
    template = xlsx_template(ctx, "discharge_permits", DISCHARGE_COLUMNS, ctx.rng("discharge_permits", d.code, "tpl"))

    def num(v, decimals):
        return None if np.isnan(v) else round(float(v), decimals)

    cells = {
        "permit_no": permit_no,
        "holder_name": [r["name"] for r in rows],
        "credit_code": [r["credit_code"] for r in rows],
        "industry": [industry_of(r["name"], rng) for r in rows],
        "management_class": [klass_label[k][style] for k in klass],
        "discharge_destination": dest_label[dest],
        "receiving_plant_id": receiving,
        "outfall_id": [f"DW{int(k):03d}" for k in rng.integers(1, 4, n)],
        "permitted_cod_t_a": [num(v, 3) for v in cod],
        "permitted_nh3n_t_a": [num(v, 3) for v in nh3],
        "standard": standard,
        "valid_from": template.dates(rng, valid_from, mess.XLSX_DATE_STYLES),
        "valid_until": template.dates(rng, valid_until, mess.XLSX_DATE_STYLES),
        "district_code": [fmt_district(d.code, template.district_style) for _ in range(n)],
    }
    order = np.argsort(valid_from, kind="stable")
    sheet = Sheet(DISCHARGE_COLUMNS, {k: np.asarray(v, dtype=object)[order] for k, v in cells.items()})
    col = ctx.contracts["discharge_permits"].column

    def bad_code(sheet: Sheet, i: int, r) -> None:
        # a wrong check character, embedded in the permit number too, so only the checksum fails
        code = str(sheet.cells["credit_code"][i])
        wrong = [c for c in CREDIT_ALPHABET if c != code[17]]
        bad = code[:17] + wrong[int(r.integers(0, len(wrong)))]
        sheet.cells["credit_code"][i] = bad
        sheet.cells["permit_no"][i] = bad + str(sheet.cells["permit_no"][i])[18:]

    style_txt = text_date_style(template)
    menu = [
        Spoil("credit_code", "credit_code", apply=bad_code),
        mess.spoil_required("holder_name"), mess.spoil_required("management_class"),
        mess.spoil_enum(col("management_class")), mess.spoil_enum(col("discharge_destination")),
        Spoil("outfall_id", "pattern", lambda r, s, i: ("DW01", "W001", "DW0001", "dw001")[int(r.integers(0, 4))]),
        mess.spoil_range(col("permitted_cod_t_a")), mess.spoil_type(col("permitted_nh3n_t_a")),
        Spoil("standard", "enum", lambda r, s, i: "GB 18918-2002 一级A"),
        Spoil("valid_until", "date_order", apply=_swap_dates("valid_from", "valid_until", style_txt)),
    ]
    # 排放口编号 is the sample's one descriptive pattern spoil: the cycle starts there, so that even a scale-0.01
    # sample (two or three spoiled permits) takes the kept-with-a-finding path of a pattern failure (issue 8)
    ctx.plan("discharge_permits", menu,
             first=next(i for i, s in enumerate(menu) if s.rule == "pattern")).apply(sheet, rng)
    name = f"{d.code}_{d.name}_排污许可_2025-06.xlsx"
    title = f"{d.name}排污许可证发放情况一览表（截至2025年6月）"
    remarks = f"备注：数据来源于全国排污许可证管理信息平台。制表人：{person(rng)}  审核人：{person(rng)}"
    write_table(ctx, "discharge_permits", name, template, sheet, dt.date(2025, 7, 3), title=title, remarks=remarks,
                spacer=rng.random() < 0.5)
