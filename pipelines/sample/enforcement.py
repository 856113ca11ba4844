"""enforcement: cases of 综合执法局 and 生态环境局 (.xlsx per bureau and quarter), each bureau with
its own column set (both subsets of the contract).

Subjects are permit holders from the registries (drainage holders for 综合执法局, discharge
permit holders for 生态环境局), plus businesses caught discharging without a permit (无证排水),
which by definition hold none. A small share of subjects are repeat offenders. Only a case that ended in a
violation counts (已处罚 or 已结案; not 不予处罚, not a case still open): every such case that follows an
earlier one of the same subject within 365 days is marked ``repeat_offender`` in the truth (on credit_code).
"""
from __future__ import annotations

import datetime as dt

import numpy as np

from pipelines.sample import mess
from pipelines.sample.common import credit_code, days_between, person, write_table, xlsx_template
from pipelines.sample.context import Context
from pipelines.sample.mess import fmt_district
from pipelines.sample.places import AS_OF, BRAND_WORDS, DISTRICTS
from pipelines.sample.permits import registration_area
from pipelines.sample.table import Sheet, Spoil

URBAN_COLUMNS = ["case_id", "source_bureau", "inspected_on", "inspection_method", "subject_name", "credit_code",
                 "district_code", "violation_type", "decision_no", "penalty_yuan", "case_status", "rectify_by",
                 "rectified_on", "officer_names", "contact_phone"]
ECO_COLUMNS = ["case_id", "source_bureau", "inspected_on", "inspection_method", "subject_name", "credit_code",
               "district_code", "violation_type", "decision_no", "penalty_yuan", "case_status", "officer_names"]
BUREAUS = {
    "urban": {"labels": ("市综合执法局", "综合执法局", "综合行政执法局"), "file": "综合执法局", "prefix": "ZF",
              "columns": URBAN_COLUMNS, "share": 0.6,
              "violations": (("雨污混接", 0.3), ("破坏管网设施", 0.15), ("超标排放", 0.15), ("其他", 0.1)),
              "methods": (("双随机", 0.45), ("专项检查", 0.3), ("投诉举报", 0.25)), "penalty": (2000, 100000)},
    "eco": {"labels": ("市生态环境局", "生态环境局"), "file": "生态环境局", "prefix": "HJ", "columns": ECO_COLUMNS,
            "share": 0.4,
            "violations": (("超标排放", 0.45), ("未按证排污", 0.3), ("偷排漏排", 0.15), ("其他", 0.1)),
            "methods": (("双随机", 0.35), ("专项检查", 0.25), ("投诉举报", 0.15), ("在线监控预警", 0.25)),
            "penalty": (20000, 1000000)},
}
QUARTERS = (("2024Q3", dt.date(2024, 7, 1), dt.date(2024, 9, 30)), ("2024Q4", dt.date(2024, 10, 1),
                                                                       dt.date(2024, 12, 31)),
            ("2025Q1", dt.date(2025, 1, 1), dt.date(2025, 3, 31)), ("2025Q2", dt.date(2025, 4, 1), AS_OF))
STATUS = ("已立案", "调查中", "已处罚", "已结案", "不予处罚")


def write_enforcement(ctx: Context, total: int) -> None:
    rng = ctx.rng("enforcement")
    taken = ctx.shared.setdefault("credit_codes", set())
    pools = {"urban": list(ctx.shared.get("drainage_holders", [])),
             "eco": list(ctx.shared.get("discharge_holders", []))}
    cases = []
    for key, bureau in BUREAUS.items():
        n = int(round(total * bureau["share"]))
        pool = pools[key]
        if n <= 0 or not pool:
            continue
        # repeat offenders: 4% of subjects are eight times as likely to be inspected again
        bad = rng.random(len(pool)) < 0.04
        weight = np.where(bad, 8.0, 1.0)
        unpermitted = rng.random(n) < (0.15 if key == "urban" else 0.0)
        subjects = rng.choice(len(pool), size=n, p=weight / weight.sum())
        days = np.sort(days_between(rng, dt.date(2024, 7, 1), AS_OF - dt.timedelta(days=1), n))
        vio_labels = [v for v, _ in bureau["violations"]]
        vio_p = np.array([p for _, p in bureau["violations"]])
        for j in range(n):
            if unpermitted[j]:
                d = DISTRICTS[int(rng.choice(len(DISTRICTS), p=np.array([x.weight for x in DISTRICTS])))]
                individual = rng.random() < 0.5
                brand = BRAND_WORDS[int(rng.integers(0, len(BRAND_WORDS)))]
                name = (f"{d.name}{person(rng)}{('小吃店', '洗车店', '早餐店')[j % 3]}" if individual
                        else f"台州市{d.short}{brand}{('餐饮管理有限公司', '汽车服务有限公司', '食品厂')[j % 3]}")
                code = None if (individual and rng.random() < 0.5) else \
                    credit_code(rng, registration_area(rng, d), "92" if individual else "91", taken)
                subject = {"name": name, "credit_code": code, "district": d.code}
                violation = "无证排水"
            else:
                subject = pool[subjects[j]]
                violation = vio_labels[int(rng.choice(len(vio_labels), p=vio_p / vio_p.sum()))]
            cases.append({"bureau": key, "day": days[j], "subject": subject, "violation": violation})

    # outcomes: older cases are more often decided (已处罚 2 / 已结案 3), a few end in 不予处罚 (4)
    cases.sort(key=lambda c: (c["day"], c["bureau"]))
    srng = ctx.rng("enforcement", "status")
    for c in cases:
        age = int((np.datetime64(AS_OF) - c["day"]).astype(int))
        p_closed = min(0.9, age / 200)
        u = srng.random()
        c["status"] = (3 if u < p_closed * 0.6 else 2 if u < p_closed
                       else (4 if u < p_closed + 0.05 else int(srng.integers(0, 2))))
    # repeat offenders in time order, city-wide: a violation within 365 days of an earlier violation
    last_violation: dict = {}
    for c in cases:
        code = c["subject"]["credit_code"]
        violation = c["status"] in (2, 3)
        earlier = last_violation.get(code)
        c["repeat"] = (code is not None and violation and earlier is not None
                       and int((c["day"] - earlier).astype(int)) <= 365)
        if code is not None and violation:
            last_violation[code] = c["day"]

    repeat_codes = {c["subject"]["credit_code"] for c in cases if c["repeat"]}
    for key, bureau in BUREAUS.items():
        mine = [c for c in cases if c["bureau"] == key]
        seq = {}
        for c in mine:
            year = int(str(c["day"])[:4])
            seq[year] = seq.get(year, 0) + 1
            c["case_id"] = f"{bureau['prefix']}{year}{seq[year]:05d}"
            c["seq"] = seq[year]
        template = xlsx_template(ctx, "enforcement", bureau["columns"], ctx.rng("enforcement", key, "tpl"))
        for label, lo, hi in QUARTERS:
            rows = [c for c in mine if np.datetime64(lo) <= c["day"] <= np.datetime64(hi)]
            if not rows:
                continue
            frng = ctx.rng("enforcement", key, label)
            sheet = _sheet(rows, bureau, key, template, frng)
            # a repeat offender's earlier cases stay clean, so the repeat stays visible downstream
            sheet.locked[[i for i, c in enumerate(rows) if c["subject"]["credit_code"] in repeat_codes]] = True
            ctx.plan("enforcement", _menu(ctx)).apply(sheet, frng)
            name = f"{bureau['file']}_执法记录_{label}.xlsx"
            title = f"{bureau['labels'][0]}排水与污染源执法案件登记表（{label[:4]}年第{label[-1]}季度）"
            remarks = f"备注：个人信息仅限本部门使用。填报人：{person(frng)}  审核人：{person(frng)}"
            write_table(ctx, "enforcement", name, template, sheet, hi + dt.timedelta(days=8), title=title,
                        remarks=remarks, spacer=frng.random() < 0.5)


def _sheet(rows, bureau, key, template, rng) -> Sheet:
    n = len(rows)
    status = []
    decision, penalty, rectify_by, rectified = [], [], [], []
    lo, hi = bureau["penalty"]
    for c in rows:
        s = c["status"]
        status.append(s)
        year = str(c["day"])[:4]
        if s in (2, 3):
            decision.append(f"台综执罚决字〔{year}〕第{c['seq']}号" if key == "urban" else f"台环罚〔{year}〕{c['seq']}号")
            penalty.append(float(round(rng.uniform(lo, hi), -2)))
        else:
            decision.append(None)
            penalty.append(None)
        rectify_by.append(c["day"] + int(rng.integers(15, 60)))
        rectified.append(min(c["day"] + int(rng.integers(5, 90)), np.datetime64(AS_OF)) if s == 3
                         else np.datetime64("NaT"))
    methods = [m for m, _ in bureau["methods"]]
    mp = np.array([p for _, p in bureau["methods"]])
    method = [methods[i] for i in rng.choice(len(methods), size=n, p=mp / mp.sum())]
    method = ["投诉举报" if c["subject"]["credit_code"] is None else m for c, m in zip(rows, method)]
    label = bureau["labels"][int(rng.integers(0, len(bureau["labels"])))]
    days = np.array([c["day"] for c in rows])
    cells = {
        "case_id": [c["case_id"] for c in rows],
        "source_bureau": [label] * n,
        "inspected_on": template.dates(rng, days, mess.XLSX_DATE_STYLES),
        "inspection_method": method,
        "subject_name": [c["subject"]["name"] for c in rows],
        "credit_code": [c["subject"]["credit_code"] for c in rows],
        "district_code": [fmt_district(c["subject"]["district"], template.district_style) for c in rows],
        "violation_type": [c["violation"] for c in rows],
        "decision_no": decision,
        "penalty_yuan": penalty,
        "case_status": [STATUS[s] for s in status],
        "rectify_by": template.dates(rng, np.array(rectify_by), mess.XLSX_DATE_STYLES),
        "rectified_on": template.dates(rng, np.array(rectified), mess.XLSX_DATE_STYLES),
        "officer_names": [f"{person(rng)}、{person(rng)}" for _ in rows],
        "contact_phone": [_phone(rng) for _ in rows],
    }
    sheet = Sheet(bureau["columns"], {k: cells[k] for k in bureau["columns"]})
    for i, c in enumerate(rows):
        if c["repeat"]:
            sheet.anomaly(i, "repeat_offender", "credit_code")
    return sheet


def _phone(rng) -> str:
    if rng.random() < 0.3:
        return f"0576-8{int(rng.integers(0, 10**7)):07d}"
    return f"1{(3, 5, 8)[int(rng.integers(0, 3))]}{int(rng.integers(0, 10**9)):09d}"


def _menu(ctx: Context) -> list[Spoil]:
    col = ctx.contracts["enforcement"].column
    return [
        mess.spoil_credit_code(), mess.spoil_required("subject_name"), mess.spoil_required("violation_type"),
        mess.spoil_type(col("inspected_on")), mess.spoil_enum(col("violation_type")),
        mess.spoil_enum(col("case_status")), mess.spoil_enum(col("source_bureau")),
        Spoil("penalty_yuan", "range", lambda r, s, i: -float(round(r.uniform(100, 5000), -2)),
              eligible=lambda s: np.array([v is not None for v in s.cells["penalty_yuan"]])),
        mess.spoil_type(col("penalty_yuan")),
        mess.spoil_required("inspected_on"),
    ]

