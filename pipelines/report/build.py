"""The progress report (进展报告): one static Chinese HTML page and a PDF for the meeting folder, written from the
published copy after every passing run.

- ``reports/progress/index.html``: self-contained (styles inline, charts as inline SVG, big maps as embedded
  PNG): it opens offline from a file share or an e-mail attachment, nothing is fetched.
- ``reports/meeting/台州市污水管网提升改造进展报告_<报告日>.pdf``: the same page printed by WeasyPrint (A4
  landscape), for the supervision meeting.

``build_report(home)`` is what the Dagster asset ``["report", "progress"]`` calls; ``python -m
pipelines.report.build --home DIR`` rebuilds it by hand from an existing published copy.
"""
from __future__ import annotations

import argparse
import datetime as dt
import html
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipelines.home import DataHome
from pipelines.publish.safe_text import safe_text
from pipelines.report import charts, data

PDF_NAME = "台州市污水管网提升改造进展报告_{as_of}.pdf"

CSS = """
@page { size: A4 landscape; margin: 12mm; }
body { font-family: "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif;
       color: #222; margin: 24px auto; max-width: 1180px; line-height: 1.5; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 19px; border-bottom: 2px solid #4e79a7;
     padding-bottom: 3px; margin-top: 30px; page-break-after: avoid; }
h3 { font-size: 15px; margin: 14px 0 4px; }
.meta { color: #555; font-size: 13px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { border: 1px solid #ccd; border-radius: 6px; padding: 8px 12px; min-width: 200px; flex: 1 1 200px; }
.card .v { font-size: 24px; font-weight: bold; } .card .l { font-size: 13px; color: #444; }
.card .t { font-size: 12px; color: #666; } .behind .v { color: #c0392b; } .ahead .v { color: #2e7d32; }
table { border-collapse: collapse; font-size: 12px; width: 100%; margin: 6px 0; }
th, td { border: 1px solid #ddd; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #eef2f7; } tr.overdue td { background: #fdecea; }
.s-逾期 { color: #c0392b; font-weight: bold; } .s-已完成, .s-已销号 { color: #2e7d32; }
.chart { margin: 8px 0 14px; page-break-inside: avoid; } .chart svg, .chart img { max-width: 100%; height: auto; }
.maps { display: flex; flex-wrap: wrap; gap: 6px; } .maps .chart { flex: 0 0 auto; }
.note { font-size: 12px; color: #666; } .unknown { color: #8a6d3b; font-weight: bold; }
.pass { color: #2e7d32; } .fail { color: #c0392b; font-weight: bold; }
"""


@dataclass
class Report:
    html: Path
    pdf: Path | None
    as_of: dt.date
    figures: list[charts.Figure] = field(default_factory=list)
    seconds: float = 0.0
    overdue_items: int = 0
    open_alerts: int = 0


def _e(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return ""
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float):
        return f"{value:,.2f}"
    # text (not numbers) neutralised against formula injection: a table copied into a spreadsheet stays text
    return html.escape(safe_text(value) if isinstance(value, str) else str(value))


def _table(df: pd.DataFrame, columns: dict[str, str], row_class=None, limit: int | None = None) -> str:
    shown = df if limit is None else df.head(limit)
    head = "".join(f"<th>{html.escape(label)}</th>" for label in columns.values())
    body = []
    for _, row in shown.iterrows():
        cls = f' class="{row_class(row)}"' if row_class else ""
        cells = []
        for col in columns:
            value = row[col]
            css = f' class="s-{_e(value)}"' if col == "status_zh" else ""
            cells.append(f"<td{css}>{_e(value)}</td>")
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    more = "" if limit is None or len(df) <= limit else \
        f'<p class="note">另有 {len(df) - limit} 行未列出，完整数据见共享数据集。</p>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


def _pct(value) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:.1f}%"


def _cards(cards: list[dict]) -> str:
    out = []
    for c in cards:
        # behind: under the reference pace of the reporting date, or (no pace, e.g. BOD5) under the target
        bar = c["expected"] if c["expected"] is not None and not pd.isna(c["expected"]) else c["target"]
        behind = bar is not None and not pd.isna(bar) and (c["value"] is None or pd.isna(c["value"])
                                                            or c["value"] < bar)
        target = "" if c["target"] is None or pd.isna(c["target"]) else \
            f"目标 ≥{c['target']:.0f}%（{_e(c['deadline'])}前）"
        expected = "" if c["expected"] is None or pd.isna(c["expected"]) else f"；参考进度 {c['expected']:.1f}%"
        out.append(f'<div class="card {"behind" if behind else "ahead"}"><div class="l">{html.escape(c["label"])}</div>'
                   f'<div class="v">{_pct(c["value"])}</div><div class="t">{target}{expected}</div></div>')
    return f'<div class="cards">{"".join(out)}</div>'


def _lines(metric: str) -> list[tuple[float, str]]:
    return [(60.0, "60%（2024年底）"), (100.0, "100%（2025年底）")] if metric == "inspected" else \
        [(70.0, "70%（2025年底）"), (100.0, "100%（2027年底）")]


def _progress_figure(progress: pd.DataFrame, metric: str) -> charts.Figure:
    df = progress.assign(
        expected=progress[f"{metric}_expected_pct"],
        track_zh=progress[f"{metric}_on_track"].map({True: "达到", False: "滞后"}),
        value=progress[f"{metric}_pct"].fillna(100.0 if metric == "rectified" else 0.0))
    df[f"{metric}_pct"] = df["value"]
    title = ("隐患排查及综合评估完成率（按长度；横线 60% / 100%，黑色短线为报告日参考进度）" if metric == "inspected"
             else "问题管网提升改造完成率（按长度；横线 70% / 100%，黑色短线为报告日参考进度）")
    return charts.render(f"progress_{metric}", title, charts.progress_bars(df, f"{metric}_pct", _lines(metric), title))


def build_report(home: DataHome, *, pdf: bool = True) -> Report:
    started = time.perf_counter()
    published = data.Published.open(home.published)
    try:
        as_of = data.reporting_date(published)
        pub = data.publication(published)
        cards = data.kpi_cards(published, as_of)
        kpis = data.city_kpis(published, as_of)
        progress = data.district_progress(published, as_of)
        bod5 = data.bod5_monthly(published, as_of)
        days = data.effluent_days(published, as_of)
        register = data.problem_register(published)
        ledger = data.ledger_items(published)
        alerts = data.open_alerts(published)
        alert_counts = data.alert_counts(published)
        quality = data.quality_status(published)
        districts, segments, points = data.map_layers(published)
    finally:
        published.close()

    figures = [_progress_figure(progress, "inspected"), _progress_figure(progress, "rectified")]
    if not bod5.empty:
        figures.append(charts.render("bod5", "进水BOD5月均值", charts.bod5_lines(bod5)))
    if not days.empty:
        figures.append(charts.render("effluent_calendar", "出水达标日历", charts.effluent_calendar(days)))
    if not register.empty:
        figures.append(charts.render("problem_register", "问题管网按等级", charts.problem_grades(register)))
    figures.append(charts.render("task_matrix", "任务状态矩阵", charts.task_matrix(ledger)))
    buckets = data.alert_age_buckets(alerts)
    if not buckets.empty:
        figures.append(charts.render("alert_ages", "未闭环预警按时长", charts.alert_ages(buckets)))
    maps = [charts.district_map(f"map_{code}", name, segments.get(code, []),
                                points[points["district_code"] == code])
            for code, name in districts]
    by_name = {f.name: f for f in figures}

    overdue = ledger[ledger["status"] == "overdue"].sort_values(["overdue_days", "item_sort"],
                                                                 ascending=[False, True])
    rest = ledger[ledger["status"] != "overdue"]
    status_counts = ledger.groupby("status_zh").size().reindex(list(charts.STATUS_COLORS), fill_value=0)
    parts = [
        f"<h1>台州市污水管网提升改造行动进展报告</h1>",
        f'<p class="meta">报告日期：{_e(as_of)}　|　数据来源：共享发布库 published/sewershare.duckdb'
        f'（发布时间 {_e(pub["generated_at"])}，批次 {_e(pub["run_id"])}，{pub["datasets"]} 个数据集）'
        f"　|　生成时间：{dt.datetime.now():%Y-%m-%d %H:%M}</p>",
        "<h2>一、全市关键指标对照目标与期限</h2>",
        _cards(cards),
        _table(kpis, {"item_code": "条目", "milestone_zh": "目标与期限", "status_zh": "状态", "measure_zh": "测算依据",
                      "completed_on": "完成日期", "lead_units": "牵头部门"}),
        "<h2>二、各区县排查与改造进度</h2>",
        by_name["progress_inspected"].html(), by_name["progress_rectified"].html(),
        "<h2>三、污水处理厂进水BOD5与出水达标</h2>",
        by_name["bod5"].html() if "bod5" in by_name else '<p class="note">无进水BOD5化验数据。</p>',
        by_name["effluent_calendar"].html() if "effluent_calendar" in by_name
        else '<p class="note">无出水在线监测数据。</p>',
        "<h2>四、问题管网数据库</h2>",
        by_name["problem_register"].html() if "problem_register" in by_name else '<p class="note">暂无问题管段。</p>',
        "<h2>五、管网地图（按区县）</h2>",
        '<p class="note">管道按CJJ 181-2012结构性等级着色，粗线为问题管网（当前未整改），▲为污水处理厂，✚为直排口；'
        "坐标为 EPSG:4549（米）。</p>",
        f'<div class="maps">{"".join(m.html() for m in maps)}</div>',
        "<h2>六、任务清单（逾期条目在前）</h2>",
        "<p>" + "　".join(f'<span class="s-{k}">{k} {v}</span>' for k, v in status_counts.items()) + "</p>",
        f"<h3>逾期条目（{len(overdue)} 项，按逾期天数）</h3>",
        _table(overdue, {"item_code": "条目", "item_zh": "工作内容", "district_name": "区县", "deadline": "期限",
                         "overdue_days": "逾期天数", "lead_units": "牵头部门", "implementing": "实施主体",
                         "status_source_zh": "依据", "measure_zh": "测算依据"},
               row_class=lambda r: "overdue") if len(overdue) else '<p class="note">无逾期条目。</p>',
        by_name["task_matrix"].html(),
        "<h3>其余条目</h3>",
        _table(rest, {"item_code": "条目", "item_zh": "工作内容", "district_name": "区县", "status_zh": "状态",
                      "deadline": "期限", "completed_on": "完成日期", "evidence_doc_no": "佐证文号",
                      "status_source_zh": "依据", "lead_units": "牵头部门"}),
        "<h2>七、预警（未闭环，按时长）</h2>",
        "<p>" + "；".join(f"{r.alert_type_zh}{r.state_zh} {r.alerts} 条" for r in alert_counts.itertuples())
        + "</p>",
        by_name["alert_ages"].html() if "alert_ages" in by_name else '<p class="note">无未闭环预警。</p>',
        _table(alerts, {"alert_type_zh": "类型", "message_zh": "内容", "district_name": "区县",
                        "responsible_unit_name": "责任单位", "raised_on": "触发日期", "age_days": "时长（天）",
                        "state_zh": "状态", "alert_key": "预警编号（签收用）"}, limit=60),
        '<p class="note">签收：<code>sewershare ack 预警编号 --by 责任单位</code>，签收记录进入 landing/alert_acks/ '
        "随下次运行入库；预警由消除它的数据关闭。</p>",
        "<h2>八、数据质量状态</h2>",
        _quality(quality),
        '<p class="note">本报告的数字全部来自共享发布库；图表由 altair / vl-convert 离线绘制，页面不引用任何外部资源。</p>',
    ]
    page = ("<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            f"<title>台州市污水管网提升改造行动进展报告 {_e(as_of)}</title><style>{CSS}</style></head>"
            f"<body>{''.join(parts)}</body></html>")

    out_dir = home.reports / "progress"
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = out_dir / "index.html"
    tmp = html_path.with_name(f".{html_path.name}.{uuid.uuid4().hex[:8]}.tmp")   # two writers never share a tmp
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, html_path)
    pdf_path = None
    if pdf:
        pdf_path = _write_pdf(page, home.reports / "meeting" / PDF_NAME.format(as_of=as_of))
    return Report(html=html_path, pdf=pdf_path, as_of=as_of, figures=figures + maps,
                  seconds=time.perf_counter() - started, overdue_items=len(overdue), open_alerts=len(alerts))


def _quality(quality: pd.DataFrame | None) -> str:
    if quality is None:
        return '<p>质量检查状态：<span class="unknown">未知</span>（发布库中没有 meta.quality_status 表）。</p>'
    failed = quality[~quality["passed"].astype(bool)]
    summary = (f'<p>共 {len(quality)} 项检查，<span class="pass">通过 {len(quality) - len(failed)}</span>，'
               f'<span class="fail">未通过 {len(failed)}</span>（ERROR 未通过时不会发布）。</p>')
    shown = quality.assign(passed_zh=quality["passed"].map({True: "通过", False: "未通过"}))
    return summary + _table(shown, {"asset": "数据集", "check_name": "检查", "severity": "级别", "passed_zh": "结果",
                                    "description": "说明", "evaluated_at": "检查时间"}, limit=80)


def _write_pdf(page: str, path: Path) -> Path:
    from weasyprint import HTML  # imported here: pango loads once, only when a PDF is written

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    HTML(string=page).write_pdf(tmp)
    os.replace(tmp, path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="进展报告：从发布库生成 HTML 与 PDF")
    parser.add_argument("--home", default=None)
    parser.add_argument("--no-pdf", action="store_true")
    args = parser.parse_args(argv)
    report = build_report(DataHome.resolve(args.home), pdf=not args.no_pdf)
    print(f"进展报告 → {report.html}" + (f" , {report.pdf}" if report.pdf else "") + f" ({report.seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
