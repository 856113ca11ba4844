"""Charts and maps of the progress report, drawn offline: Vega-Lite specs built with altair and rendered by
vl-convert (Vega in an embedded engine, no browser, no network) to SVG, or to PNG for maps with many features.

Text in the charts is Chinese; the SVG text is drawn by the reader's fonts (the page names Noto Sans CJK first) and
the PNG text by the system fonts vl-convert finds (Debian ``fonts-noto-cjk``).
"""
from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import altair as alt
import pandas as pd
import vl_convert as vlc

FONT = "Noto Sans CJK SC, Noto Sans SC, Source Han Sans SC, Microsoft YaHei, sans-serif"
# A map with more features than this is rendered to PNG: an SVG path per segment grows the page by megabytes
# at city scale (117k segments) while a picture stays the same size.
MAP_SVG_MAX_FEATURES = 4000

STATUS_COLORS = {"未开始": "#bdbdbd", "进行中": "#4e79a7", "已完成": "#59a14f", "逾期": "#e15759", "已销号": "#2f6b2f"}
DAY_COLORS = {"达标": "#59a14f", "超标": "#e15759", "数据不足": "#f1ce63", "无数据": "#eeeeee"}
GRADE_COLORS = {"I": "#59a14f", "II": "#8cd17d", "III": "#f28e2b", "IV": "#e15759", "未检测": "#c7c7c7"}

CONFIG: dict[str, Any] = {
    "font": FONT,
    "title": {"font": FONT, "fontSize": 14, "anchor": "start"},
    "axis": {"labelFont": FONT, "titleFont": FONT, "labelFontSize": 11, "titleFontSize": 12},
    "legend": {"labelFont": FONT, "titleFont": FONT, "labelFontSize": 11, "titleFontSize": 12},
    "header": {"labelFont": FONT, "titleFont": FONT, "labelFontSize": 12},
    "view": {"stroke": None},
}


@dataclass
class Figure:
    """One rendered chart: ``kind`` is ``svg`` (markup to inline) or ``png`` (bytes to embed as a data URI)."""
    name: str
    title: str
    kind: str
    content: str | bytes
    features: int = 0

    def html(self) -> str:
        if self.kind == "svg":
            return (f'<figure class="chart" data-chart="{self.name}" aria-label="{self.title}">{self.content}'
                    f'</figure>')
        data = base64.b64encode(self.content).decode("ascii")
        return (f'<figure class="chart map" data-chart="{self.name}" aria-label="{self.title}">'
                f'<img alt="{self.title}" src="data:image/png;base64,{data}"></figure>')


def _spec(chart: alt.TopLevelMixin, datasets: dict[str, list] | None = None) -> dict:
    spec = chart.to_dict()
    spec.setdefault("config", {}).update(CONFIG)
    if datasets:
        # Large inline data (a district's pipe geometries) join the spec after altair has built and validated
        # it: altair wraps and schema-validates every value of alt.Data(values=…), which took minutes for the
        # maps at sample scale 1 (the report was most of a new day's run).
        spec.setdefault("datasets", {}).update(datasets)
    return spec


def render(name: str, title: str, chart: alt.TopLevelMixin, *, png: bool = False, features: int = 0,
           datasets: dict[str, list] | None = None) -> Figure:
    spec = _spec(chart, datasets)
    # allowed_base_urls=[]: every dataset is inline, nothing may be fetched
    if png:
        content = vlc.vegalite_to_png(spec, scale=1.5, allowed_base_urls=[], format_locale="zh-CN",
                                      time_format_locale="zh-CN")
        return Figure(name, title, "png", content, features)
    content = vlc.vegalite_to_svg(spec, allowed_base_urls=[], format_locale="zh-CN", time_format_locale="zh-CN")
    return Figure(name, title, "svg", content, features)


def _records(df: pd.DataFrame) -> list[dict]:
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
        elif out[col].dtype == object:
            out[col] = out[col].map(lambda v: v.isoformat() if hasattr(v, "isoformat") else v)
    return out.astype(object).where(pd.notna(out), None).to_dict(orient="records")


def progress_bars(df: pd.DataFrame, metric: str, lines: list[tuple[float, str]], title: str) -> alt.Chart:
    """Per district and scope: a percentage against the plan's lines (60/100 inspected, 70/100 rectified) and the
    reference pace of the reporting date (a tick per bar)."""
    data = alt.Data(values=_records(df))
    base = alt.Chart().encode(
        x=alt.X("district_name:N", title=None, sort=alt.SortField("district_code"),
                axis=alt.Axis(labelAngle=-40)))
    bars = base.mark_bar().encode(
        y=alt.Y(f"{metric}:Q", title="完成率（%）", scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("track_zh:N", title="对照参考进度",
                        scale=alt.Scale(domain=["达到", "滞后"], range=["#4e79a7", "#e15759"])),
        tooltip=[alt.Tooltip("district_name:N", title="区县"), alt.Tooltip(f"{metric}:Q", title="完成率", format=".1f"),
                 alt.Tooltip("expected:Q", title="参考进度", format=".1f")])
    ticks = base.mark_tick(color="#222", thickness=2, size=18).encode(y="expected:Q")
    rules = alt.Chart(alt.Data(values=[{"y": v, "label": label} for v, label in lines])).mark_rule(
        strokeDash=[5, 3], color="#555").encode(y="y:Q")
    rule_text = alt.Chart(alt.Data(values=[{"y": v, "label": label} for v, label in lines])).mark_text(
        align="left", dx=2, dy=-5, fontSize=10, color="#555").encode(y="y:Q", x=alt.value(0), text="label:N")
    layered = alt.layer(bars, ticks, rules, rule_text, data=data).properties(width=300, height=200)
    return layered.facet(column=alt.Column("scope_zh:N", title=None, header=alt.Header(labelFontSize=13))
                         ).properties(title=title).resolve_scale(x="independent")


def bod5_lines(df: pd.DataFrame) -> alt.Chart:
    data = alt.Data(values=_records(df))
    lines = alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("month:T", title="月份", axis=alt.Axis(format="%Y年%m月", labelAngle=-30)),
        y=alt.Y("bod5:Q", title="进水BOD5月均值（mg/L）"),
        color=alt.Color("plant_name:N", title="污水处理厂", legend=alt.Legend(columns=2, symbolLimit=50)),
        tooltip=[alt.Tooltip("plant_name:N", title="厂"), alt.Tooltip("month:T", title="月份", format="%Y-%m"),
                 alt.Tooltip("bod5:Q", title="BOD5", format=".1f")])
    line100 = alt.Chart(alt.Data(values=[{"y": 100}])).mark_rule(color="#e15759", strokeDash=[6, 3],
                                                                 size=2).encode(y="y:Q")
    label = alt.Chart(alt.Data(values=[{"y": 100, "t": "100 mg/L"}])).mark_text(
        align="left", dx=3, dy=-6, color="#e15759").encode(y="y:Q", x=alt.value(0), text="t:N")
    return alt.layer(lines, line100, label).properties(
        width=720, height=300, title="城市污水处理厂进水BOD5月均值（红线：100 mg/L）")


def effluent_calendar(df: pd.DataFrame) -> alt.Chart:
    data = alt.Data(values=_records(df))
    return alt.Chart(data).mark_rect().encode(
        x=alt.X("date:O", title="日期", timeUnit="yearmonthdate",
                axis=alt.Axis(format="%m-%d", labelAngle=-90, labelOverlap=True)),
        y=alt.Y("plant_name:N", title=None),
        color=alt.Color("state_zh:N", title="当日判定（最差因子）",
                        scale=alt.Scale(domain=list(DAY_COLORS), range=list(DAY_COLORS.values()))),
        tooltip=[alt.Tooltip("plant_name:N", title="厂"), alt.Tooltip("date:T", title="日期", format="%Y-%m-%d"),
                 alt.Tooltip("state_zh:N", title="判定"), alt.Tooltip("factors:N", title="超标/不足因子")],
    ).properties(width=720, height=alt.Step(16), title="出水在线监测日历（COD、氨氮、总氮、总磷日均值与 pH 对照限值）")


def problem_grades(df: pd.DataFrame) -> alt.Chart:
    data = alt.Data(values=_records(df))
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("district_name:N", title=None, sort=alt.SortField("district_code"), axis=alt.Axis(labelAngle=-40)),
        y=alt.Y("length_km:Q", title="问题管段长度（km）", stack="zero"),
        color=alt.Color("grade:N", title="结构性等级", scale=alt.Scale(domain=list(GRADE_COLORS),
                                                                    range=list(GRADE_COLORS.values()))),
        column=alt.Column("status_zh:N", title=None, header=alt.Header(labelFontSize=13)),
        tooltip=[alt.Tooltip("district_name:N", title="区县"), alt.Tooltip("grade:N", title="等级"),
                 alt.Tooltip("segments:Q", title="管段数"), alt.Tooltip("length_km:Q", title="长度(km)", format=".2f")],
    ).properties(width=330, height=220, title="问题管网数据库：按区县、结构性等级与整改状态（长度）")


def task_matrix(df: pd.DataFrame) -> alt.Chart:
    data = alt.Data(values=_records(df))
    return alt.Chart(data).mark_rect(stroke="white", strokeWidth=1).encode(
        x=alt.X("district_name:N", title=None, sort=alt.SortField("district_code"), axis=alt.Axis(labelAngle=-40,
                                                                                              orient="top")),
        y=alt.Y("item_label:N", title=None, sort=alt.SortField("item_sort")),
        color=alt.Color("status_zh:N", title="状态", scale=alt.Scale(domain=list(STATUS_COLORS),
                                                                   range=list(STATUS_COLORS.values()))),
        tooltip=[alt.Tooltip("item_label:N", title="条目"), alt.Tooltip("district_name:N", title="区县"),
                 alt.Tooltip("status_zh:N", title="状态"), alt.Tooltip("deadline:N", title="期限"),
                 alt.Tooltip("lead_units:N", title="牵头部门")],
    ).properties(width=alt.Step(46), height=alt.Step(15), title="任务状态矩阵（条目 × 区县；全市为市级条目）")


def alert_ages(df: pd.DataFrame) -> alt.Chart:
    data = alt.Data(values=_records(df))
    order = ["7天内", "8–30天", "31–90天", "91–365天", "一年以上"]
    return alt.Chart(data).mark_bar().encode(
        y=alt.Y("alert_type_zh:N", title=None),
        x=alt.X("alerts:Q", title="未闭环预警数", stack="zero"),
        color=alt.Color("age_bucket:N", title="预警时长", sort=order,
                        scale=alt.Scale(domain=order, range=["#fdd49e", "#fdbb84", "#fc8d59", "#e34a33", "#b30000"])),
        order=alt.Order("age_order:Q"),
        tooltip=[alt.Tooltip("alert_type_zh:N", title="类型"), alt.Tooltip("age_bucket:N", title="时长"),
                 alt.Tooltip("alerts:Q", title="条数")],
    ).properties(width=560, height=alt.Step(22), title="未闭环预警（待处理与已签收）按类型与时长")


def district_map(name: str, district_name: str, segments: list[dict], points: pd.DataFrame) -> Figure:
    """Pipes by structural condition grade (problem pipes drawn thick), plants and direct-discharge points, in the
    warehouse CRS (EPSG:4549, metres; an identity projection with the y axis up keeps the map true to scale)."""
    features = len(segments) + len(points)
    projection = {"type": "identity", "reflectY": True}
    datasets = {"pipes": [s for s in segments if not s["properties"]["problem"]],
                "problems": [s for s in segments if s["properties"]["problem"]]}
    pipes = alt.Chart(alt.NamedData(name="pipes")).mark_geoshape(
        filled=False, strokeWidth=1.2).encode(
        stroke=alt.Stroke("properties.grade:N", title="管道结构性等级",
                          scale=alt.Scale(domain=list(GRADE_COLORS), range=list(GRADE_COLORS.values()))))
    problems = alt.Chart(alt.NamedData(name="problems")).mark_geoshape(
        filled=False, strokeWidth=3.2).encode(
        stroke=alt.Stroke("properties.grade:N", title="管道结构性等级",
                          scale=alt.Scale(domain=list(GRADE_COLORS), range=list(GRADE_COLORS.values()))))
    layers = [pipes, problems]
    if len(points):
        layers.append(alt.Chart(alt.Data(values=_records(points))).mark_point(filled=True, size=140,
                                                                            opacity=0.95).encode(
            longitude="x:Q", latitude="y:Q",
            shape=alt.Shape("kind_zh:N", title="点位",
                            scale=alt.Scale(domain=["污水处理厂", "直排口"], range=["triangle-up", "cross"])),
            color=alt.Color("kind_zh:N", title="点位", scale=alt.Scale(domain=["污水处理厂", "直排口"],
                                                                       range=["#1f3b73", "#b30000"])),
            tooltip=[alt.Tooltip("label:N", title="名称")]))
    chart = alt.layer(*layers).project(**projection).properties(
        width=330, height=300, title=f"{district_name}：管道状况（粗线为问题管网）、污水处理厂与直排口")
    return render(name, f"{district_name}管网地图", chart, png=features > MAP_SVG_MAX_FEATURES, features=features,
                  datasets=datasets)
