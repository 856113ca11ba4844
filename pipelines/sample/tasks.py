"""task_progress: the plan's task progress as departments report it (.xlsx per reporting department), with a
later correction from 市建设局.

Only the tasks the data cannot measure are reported (方案编制 1.3, 专项规划修编 1.4, 周期性排查机制 2.5,
运维管理机制 4.1, 数字化管理 6.1, the standing tasks 1.1/1.2/2.1/5.1/8.x/9.x/10.1/11.1), plus a few
普查数据库 (2.2) reports that the census data can confirm or contradict. Every district has a different story
so the ledger shows every status: on time, late, behind (逾期), struck off (已销号) by the 五水共治办.
Tasks are named as bureaus name them, with a task number (``1.3``, ``1-3``, ``1．3`` or a target code ``T03``) in
the bureaus' files and without one in the office's.
"""
from __future__ import annotations

import datetime as dt

import numpy as np

from pipelines.sample import mess
from pipelines.sample.common import person, record_correction, write_table, xlsx_template
from pipelines.sample.context import Context
from pipelines.sample.mess import fmt_district
from pipelines.sample.places import DISTRICTS
from pipelines.sample.projects import truth_path
from pipelines.sample.table import Sheet, Spoil

FEED = "task_progress"
COLUMNS = ["task_item", "task", "district_code", "status", "status_on", "evidence_doc_no", "reporting_unit",
           "remarks"]
CITY = "331000"
# target codes (plan_targets) a bureau may write instead of the item number
TARGET_OF = {"1.3": "T01", "1.4": "T03", "2.5": "T15", "6.1": "T12", "2.2": "T02"}
NAMES = {
    "1.1": "完善城镇污水专项规划，优化污水系统布局", "1.2": "城中村、老旧城区等市政污水管网规划建设",
    "1.3": "污水管网提升改造方案编制", "1.4": "城镇污水工程专项规划编制或修编", "1.5": "污水规划建设全过程管控体系",
    "2.1": "年度隐患排查计划", "2.2": "城市污水管网普查数据库", "2.5": "污水管网周期性排查检测工作机制",
    "4.1": "污水管网运维管理政策体系和监管机制", "5.1": "排水执法监管（双随机、在线监控）",
    "6.1": "污水收集处理系统数字化管理和数据共享", "8.1": "工作协调推进机制", "8.2": "全过程质量监管和项目验收管理",
    "8.3": "工程项目实施和资金管理监督", "9.1": "市级专家组技术支持", "9.2": "多渠道资金保障机制",
    "9.3": "工作力量配备和培训", "10.1": "督查考核", "11.1": "宣传发动",
}
STATUS_LABEL = {"not_started": ("未开始", "未启动"), "in_progress": ("进行中", "推进中", "实施中"),
                "completed": ("已完成", "完成"), "closed_off": ("已销号",), "behind": ("滞后", "进度滞后")}


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


class _Rows:
    def __init__(self):
        self.rows: list[dict] = []

    def add(self, item, district, status, on, doc=None, remarks=None):
        self.rows.append(dict(item=item, district=district, status=status, on=on, doc=doc, remarks=remarks))


def _city_bureau_rows(rng: np.random.Generator, codes: list[str]) -> _Rows:
    """市综合执法局: upgrade plans (1.3), periodic inspection (2.5), O&M mechanism (4.1), digital management (6.1),
    census database (2.2) and the standing tasks."""
    out = _Rows()
    for k, code in enumerate(codes):
        u = rng.random()
        if k % 5 == 1 or u < 0.1:      # still drafting in mid-2025: overdue since 2023-11-30
            out.add("1.3", code, "in_progress", _d("2025-06-20"), remarks="方案已完成初稿，正在征求意见")
        else:
            late = k % 4 == 2
            day = _d("2023-12-01") + dt.timedelta(days=int(rng.integers(5, 70))) if late else \
                _d("2023-09-15") + dt.timedelta(days=int(rng.integers(0, 70)))
            out.add("1.3", code, "completed", day, doc=f"台{code[-2:]}政办发〔{day.year}〕{int(rng.integers(10, 99))}号")
        out.add("2.1", code, "in_progress", _d("2025-06-25"), remarks="2025年度排查计划已下达")
        out.add("2.5", code, ("not_started", "in_progress")[k % 3 != 0], _d("2025-06-25"))
        out.add("4.1", code, "in_progress" if rng.random() < 0.7 else "not_started", _d("2025-06-25"))
        out.add("9.3", code, "in_progress", _d("2025-06-25"), remarks="已配备专职人员，完成年度培训")
        if k % 3 == 0:   # a census database the census data can confirm (or not)
            out.add("2.2", code, "completed", _d("2023-12-20"), doc=f"台综执〔2023〕{int(rng.integers(100, 199))}号")
    out.add("6.1", CITY, "in_progress", _d("2025-06-28"), remarks="污水系统数字化平台一期已上线，部门数据共享接口建设中")
    out.add("5.1", CITY, "in_progress", _d("2025-06-28"), remarks="双随机检查按月开展")
    for item in ("9.1", "10.1", "11.1"):
        out.add(item, CITY, "in_progress", _d("2025-06-28"))
    return out


def _construction_rows(rng: np.random.Generator, codes: list[str]) -> _Rows:
    """市建设局: special sewage plans (1.4, due 2024-12-31), planning and project oversight tasks."""
    out = _Rows()
    for k, code in enumerate(codes):
        if k % 4 == 3:
            out.add("1.4", code, "behind", _d("2025-06-15"), remarks="规划修编招标延误")
        elif k % 4 == 2:
            day = _d("2025-01-10") + dt.timedelta(days=int(rng.integers(0, 120)))
            out.add("1.4", code, "completed", day, doc=f"台{code[-2:]}政函〔{day.year}〕{int(rng.integers(10, 99))}号",
                    remarks="逾期完成")
        else:
            day = _d("2024-06-01") + dt.timedelta(days=int(rng.integers(0, 200)))
            # one completed plan without its document number: the ledger flags 缺佐证
            doc = None if k == 0 else f"台{code[-2:]}政函〔{day.year}〕{int(rng.integers(10, 99))}号"
            out.add("1.4", code, "completed", day, doc=doc)
        out.add("1.1", code, "in_progress", _d("2025-06-26"))
        out.add("1.2", code, "in_progress", _d("2025-06-26"))
    out.add("1.5", CITY, "in_progress", _d("2025-06-26"))
    for item in ("8.1", "8.2", "8.3"):
        out.add(item, CITY, "in_progress", _d("2025-06-26"))
    out.add("9.2", CITY, "in_progress", _d("2025-06-26"), remarks="专项债、以奖代补资金已下达")
    return out


def _office_rows(rng: np.random.Generator, completed: list[dict]) -> _Rows:
    """市“五水共治”办: strikes off (销号) about half of the upgrade plans completed on time, after checking."""
    out = _Rows()
    for k, row in enumerate(completed):
        if k % 2 == 0:
            day = row["on"] + dt.timedelta(days=int(rng.integers(60, 150)))
            out.add(row["item"], row["district"], "closed_off", day,
                    doc=f"台治水办〔{day.year}〕{int(rng.integers(10, 60))}号", remarks="经核查予以销号")
    return out


def _item_cell(item: str, style: int) -> str:
    if style == 0 or (style == 3 and item not in TARGET_OF):
        return item
    if style == 1:
        return item.replace(".", "-")
    if style == 2:
        return item.replace(".", "．")           # a full-width full stop, typed by hand
    return TARGET_OF[item]


def _sheet(ctx: Context, template, rows: _Rows, unit: str, rng: np.random.Generator, plain: bool,
           numbered: bool) -> Sheet:
    n = len(rows.rows)
    styles = np.zeros(n, dtype=int) if plain else rng.choice(4, size=n, p=[0.6, 0.15, 0.1, 0.15])
    days = np.array([np.datetime64(r["on"]) for r in rows.rows], dtype="datetime64[D]")
    cells = {
        "task_item": [_item_cell(r["item"], int(s)) for r, s in zip(rows.rows, styles)],
        "task": [NAMES[r["item"]] for r in rows.rows],
        "district_code": ["全市" if r["district"] == CITY else fmt_district(r["district"], template.district_style)
                          for r in rows.rows],
        "status": [STATUS_LABEL[r["status"]][i % len(STATUS_LABEL[r["status"]])] for i, r in enumerate(rows.rows)],
        "status_on": template.dates(rng, days, mess.XLSX_DATE_STYLES),
        "evidence_doc_no": [r["doc"] for r in rows.rows],
        "reporting_unit": [unit] * n,
        "remarks": [r["remarks"] for r in rows.rows],
    }
    columns = COLUMNS if numbered else [c for c in COLUMNS if c != "task_item"]
    return Sheet(columns, {c: cells[c] for c in columns})


def _menu(ctx: Context, template) -> list[Spoil]:
    # The key columns (task, district, status) are never spoiled; the status date gets unreadable values.
    col = ctx.contracts[FEED].column
    return [mess.spoil_type(col("status_on"))]


def _write(ctx: Context, rows: _Rows, unit: str, label: str, name: str, when: dt.date, title: str,
           plain: bool = False, numbered: bool = True):
    """``plain``: a correction file, clean (as every correction of the sample), task numbers as ``1.4``.
    ``numbered=False``: the file names its tasks only (no 任务编号 column), as most departments do."""
    rng = ctx.rng(FEED, label)
    columns = COLUMNS if numbered else [c for c in COLUMNS if c != "task_item"]
    template = xlsx_template(ctx, FEED, columns, ctx.rng(FEED, label, "tpl"))
    sheet = _sheet(ctx, template, rows, unit, rng, plain, numbered)
    if not plain:
        ctx.plan(FEED, _menu(ctx, template)).apply(sheet, rng)
    remarks = f"填报人：{person(rng)}    审核人：{person(rng)}    备注：状态日期为完成、销号或填报日期。"
    path, truth = write_table(ctx, FEED, name, template, sheet, when, title=title, remarks=remarks,
                              spacer=rng.random() < 0.5)
    return sheet, truth


def write_task_progress(ctx: Context) -> None:
    codes = [d.code for d in DISTRICTS]
    rng = ctx.rng(FEED, "plan")
    bureau = _city_bureau_rows(rng, codes)
    construction = _construction_rows(rng, codes)
    on_time = [r for r in bureau.rows if r["item"] == "1.3" and r["status"] == "completed"]
    office = _office_rows(rng, on_time)
    _write(ctx, bureau, "市综合执法局", "urban_management", "市综合执法局_行动方案任务进展_2025-06.xlsx",
           dt.date(2025, 7, 3), "市综合执法局污水管网提升改造行动任务进展（截至2025年6月底）")
    sheet, _ = _write(ctx, construction, "市建设局", "construction", "市建设局_行动方案任务进展_2025-06.xlsx",
                      dt.date(2025, 7, 3), "市建设局污水管网提升改造行动任务进展（截至2025年6月底）")
    _write(ctx, office, "市“五水共治”办", "five_water_office", "市五水共治办_任务销号_2025-06.xlsx",
           dt.date(2025, 7, 4), "市“五水共治”办任务销号情况（截至2025年6月底）", numbered=False)
    # A correction of one completion date (same key: task, district, status → supersedes the earlier record);
    # the row corrected loaded clean, so its key in the raw layer is known.
    crng = ctx.rng(FEED, "correction")
    free = sheet.free()
    fixed = _Rows()
    keys = []
    for i, r in enumerate(construction.rows):
        if r["item"] == "1.4" and r["status"] == "completed" and r["doc"] and free[i] and not keys:
            day = r["on"] + dt.timedelta(days=int(crng.integers(3, 20)))
            fixed.add("1.4", r["district"], "completed", day, doc=r["doc"], remarks="更正完成日期")
            keys.append([NAMES["1.4"], r["district"], "completed"])
    if keys:
        _, ctruth = _write(ctx, fixed, "市建设局", "construction_fix", "市建设局_行动方案任务进展_2025-07更正.xlsx",
                           dt.date(2025, 7, 12), "市建设局污水管网提升改造行动任务进展（更正）", plain=True)
        record_correction(ctx, FEED, ctruth, keys,
                          [truth_path(ctx, FEED, "市建设局_行动方案任务进展_2025-06.xlsx")])
