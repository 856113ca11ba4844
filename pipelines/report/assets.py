"""The progress report as a Dagster asset downstream of the publication.

``["report", "progress"]`` runs after ``["published", "warehouse"]`` in every run: when a blocking check fails,
the publication does not run and neither does the report, so the page always shows the last published version.
It reads only the published copy (``published/sewershare.duckdb``), never the warehouse.
"""
# No ``from __future__ import annotations``: Dagster reads the ``context`` annotation at decoration time.

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from pipelines.publish.assets import PUBLISHED_KEY
from pipelines.report.build import build_report
from pipelines.resources import HomeResource

REPORT_KEY = AssetKey(["report", "progress"])


@asset(key=REPORT_KEY, deps=[PUBLISHED_KEY], group_name="report",
       description="进展报告：从共享发布库生成中文 HTML 页面（reports/progress/index.html）与会议用 PDF"
                   "（reports/meeting/）。Chinese progress report (HTML + PDF) from the published copy.")
def progress_report(context: AssetExecutionContext, home: HomeResource) -> MaterializeResult:
    report = build_report(home.home)
    return MaterializeResult(metadata={
        "页面 html": MetadataValue.path(str(report.html)),
        "会议材料 pdf": MetadataValue.path(str(report.pdf)) if report.pdf else "未生成",
        "报告日期 as_of": str(report.as_of),
        "图表数 figures": len(report.figures),
        "逾期条目 overdue items": report.overdue_items,
        "未闭环预警 open alerts": report.open_alerts,
        "耗时 seconds": round(report.seconds, 1),
    })


report_assets = [progress_report]
