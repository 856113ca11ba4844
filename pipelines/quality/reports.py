"""Quality reports under ``reports/``: GE data docs and a quality summary per feed and bureau.

    reports/data_docs/index.html       great-expectations data docs: every suite, the recent validations
    reports/quality_summary.html       数据质量报告: checks per feed/mart and per bureau, quarantine by reason, trend
    reports/quality_summary.json       the same, for machines

``write_reports`` reads only the quality store (``reports/quality/``) and, when given a reader, the quarantine and
file registry of the warehouse through a read-only connection. It can run at any time: after a run that failed
the gate as well as after one that published.
"""
from __future__ import annotations

import datetime as dt
import html
import os
from pathlib import Path
from typing import Any

import duckdb

from pipelines.contracts import load_contracts
from pipelines.home import EXPECTATIONS_DIR, DataHome
from pipelines.quality.store import QualityStore, read_json, write_json_atomic
from pipelines.quality.suites import load_suites

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
MARTS_BUREAU = "共享数据集（marts）"
TREND_RUNS = 30


def _bureau_of(record: dict[str, Any]) -> str:
    if record.get("asset", "").startswith("raw/"):
        contract = load_contracts().get(record.get("feed") or "")
        return record.get("bureau") or (contract.owner if contract else "")
    return MARTS_BUREAU


def quarantine_by_reason(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    out = []
    contracts = load_contracts()
    present = {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'quarantine'").fetchall()}
    for feed in sorted(present & set(contracts)):
        rows = con.execute(f"""
            SELECT u.rule, u.field, any_value(u.message_zh), count(*) AS n
            FROM (SELECT unnest(reasons) AS u FROM quarantine.{feed}) GROUP BY ALL ORDER BY n DESC""").fetchall()
        (total,) = con.execute(f"SELECT count(*) FROM quarantine.{feed}").fetchone()
        for rule, field, message, n in rows:
            out.append({"feed": feed, "title_zh": contracts[feed].title_zh, "bureau": contracts[feed].owner,
                        "rule": rule, "field": field, "message_zh": message, "reasons": n,
                        "rows_in_feed": total})
    return out


def file_registry(con: duckdb.DuckDBPyConnection) -> tuple[list[dict[str, Any]], dict[str, int]]:
    try:
        rows = con.execute("""
            SELECT feed, status, count(*), sum(rows_read), sum(rows_loaded), sum(rows_quarantined)
            FROM audit.file_registry GROUP BY ALL ORDER BY feed, status""").fetchall()
        per_run = dict(con.execute(
            "SELECT CAST(run_id AS VARCHAR), sum(rows_quarantined) FROM audit.file_registry GROUP BY ALL"
        ).fetchall())
    except duckdb.Error:
        return [], {}
    files = [{"feed": f, "status": s, "files": n, "rows_read": r, "rows_loaded": lo, "rows_quarantined": q}
             for f, s, n, r, lo, q in rows]
    return files, {k: int(v or 0) for k, v in per_run.items()}


def build_summary(home: DataHome, reader=None) -> dict[str, Any]:
    store = QualityStore(home)
    latest = store.latest_results()
    assets: dict[str, dict[str, Any]] = {}
    for rec in sorted(latest.values(), key=lambda r: r["check_id"]):
        a = assets.setdefault(rec["asset"], {
            "asset": rec["asset"], "layer": rec["asset"].split("/")[0], "feed": rec.get("feed"),
            "bureau": _bureau_of(rec), "checks_run": 0, "passed": 0, "failed_error": 0, "failed_warn": 0,
            "failing_rows": 0, "checks": []})
        if rec.get("kind") == "ge":
            a["title_zh"] = rec.get("title_zh")
        a["checks_run"] += 1
        a["passed"] += bool(rec["passed"])
        a["failed_error"] += (not rec["passed"]) and rec.get("severity") == "ERROR"
        a["failed_warn"] += (not rec["passed"]) and rec.get("severity") == "WARN"
        a["failing_rows"] += rec.get("failing_rows") or 0
        a["checks"].append({k: rec.get(k) for k in ("check", "passed", "severity", "failing_rows", "message",
                                                     "evaluated_at", "run_id", "batches_validated", "reused")})
    bureaus: dict[str, dict[str, Any]] = {}
    for a in assets.values():
        b = bureaus.setdefault(a["bureau"], {"bureau": a["bureau"], "assets": 0, "checks_run": 0, "passed": 0,
                                             "failed_error": 0, "failed_warn": 0})
        b["assets"] += 1
        for k in ("checks_run", "passed", "failed_error", "failed_warn"):
            b[k] += a[k]
    quarantine: list[dict[str, Any]] = []
    files: list[dict[str, Any]] = []
    quarantined_per_run: dict[str, int] = {}
    if reader is not None:
        try:
            with reader() as con:
                quarantine = quarantine_by_reason(con)
                files, quarantined_per_run = file_registry(con)
        except duckdb.Error:
            pass  # a warehouse that cannot be read still gets its check summary
    runs: dict[str, dict[str, Any]] = {}
    for line in store.history():
        run = runs.setdefault(line.get("run_id") or "?", {
            "run_id": line.get("run_id"), "started": line.get("evaluated_at"), "checks_run": 0, "passed": 0,
            "failed_error": 0, "failed_warn": 0, "failing_rows": 0})
        run["started"] = min(run["started"] or "", line.get("evaluated_at") or "") or line.get("evaluated_at")
        run["checks_run"] += 1
        run["passed"] += bool(line["passed"])
        run["failed_error"] += (not line["passed"]) and line.get("severity") == "ERROR"
        run["failed_warn"] += (not line["passed"]) and line.get("severity") == "WARN"
        run["failing_rows"] += line.get("failing_rows") or 0
    trend = sorted(runs.values(), key=lambda r: r["started"] or "")[-TREND_RUNS:]
    for run in trend:
        run["rows_quarantined"] = quarantined_per_run.get(run["run_id"] or "")
    return {
        "title_zh": "台州市污水管网数据共享平台·数据质量报告",
        "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "gate_open": not any(a["failed_error"] for a in assets.values()),
        "assets": list(assets.values()), "bureaus": sorted(bureaus.values(), key=lambda b: b["bureau"]),
        "quarantine": quarantine, "files": files, "trend": trend,
    }


# ------------------------------------------------------------------------------------------------------
# HTML
# ------------------------------------------------------------------------------------------------------
def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c if isinstance(c, _Raw) else html.escape(str(c if c is not None else '—'))}</td>"
                                    for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class _Raw(str):
    """Already-escaped HTML."""


def _status(a: dict[str, Any]) -> _Raw:
    if a["failed_error"]:
        return _Raw('<span class="err">未通过 ERROR</span>')
    if a["failed_warn"]:
        return _Raw('<span class="warn">警告 WARN</span>')
    return _Raw('<span class="ok">通过</span>')


def render_html(summary: dict[str, Any]) -> str:
    assets = summary["assets"]
    gate = ('<p class="ok">发布门禁：通过（无阻断性错误）Gate open</p>' if summary["gate_open"]
            else '<p class="err">发布门禁：关闭（存在 ERROR 级检查未通过，未发布新版本）Gate closed</p>')
    parts = [
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>",
        f"<title>{html.escape(summary['title_zh'])}</title>",
        "<style>body{font-family:sans-serif;margin:2em;}table{border-collapse:collapse;margin:1em 0;}"
        "td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px;vertical-align:top;}th{background:#f0f0f0;}"
        ".err{color:#b00;font-weight:bold}.warn{color:#a60}.ok{color:#070}pre{white-space:pre-wrap;margin:0}"
        "</style></head><body>",
        f"<h1>{html.escape(summary['title_zh'])}</h1>",
        f"<p>生成时间 generated: {html.escape(summary['generated_at'])} · "
        "<a href='data_docs/index.html'>期望套件与验证结果（GE Data Docs）</a></p>", gate,
        "<h2>各部门汇总 Summary per bureau</h2>",
        _table(["部门 bureau", "数据集 assets", "检查数 checks", "通过 passed", "错误 ERROR", "警告 WARN"],
               [[b["bureau"], b["assets"], b["checks_run"], b["passed"], b["failed_error"], b["failed_warn"]]
                for b in summary["bureaus"]]),
        "<h2>各数据源与数据集 Checks per feed and mart</h2>",
        _table(["资产 asset", "名称", "部门 bureau", "状态", "检查数", "通过", "错误", "警告", "不符行数"],
               [[a["asset"], a.get("title_zh"), a["bureau"], _status(a), a["checks_run"], a["passed"],
                 a["failed_error"], a["failed_warn"], a["failing_rows"]] for a in assets]),
        "<h2>未通过的检查 Failed checks</h2>",
        _table(["资产 asset", "检查 check", "级别", "不符行数", "说明与示例 details"],
               [[a["asset"], c["check"], c["severity"], c["failing_rows"],
                 _Raw(f"<pre>{html.escape(c.get('message') or '')}</pre>")]
                for a in assets for c in a["checks"] if not c["passed"]]),
        "<h2>隔离数据（按原因）Quarantined rows by reason</h2>",
        _table(["数据源 feed", "部门 bureau", "规则 rule", "字段 field", "说明", "原因数 reasons", "隔离行 rows in feed"],
               [[q["feed"], q["bureau"], q["rule"], q["field"], q["message_zh"], q["reasons"], q["rows_in_feed"]]
                for q in summary["quarantine"]]),
        "<h2>文件登记 Files</h2>",
        _table(["数据源 feed", "状态 status", "文件数", "读取行", "入库行", "隔离行"],
               [[f["feed"], f["status"], f["files"], f["rows_read"], f["rows_loaded"], f["rows_quarantined"]]
                for f in summary["files"]]),
        "<h2>历次运行趋势 Trend over runs</h2>",
        _table(["运行 run", "时间", "检查数", "通过", "错误", "警告", "不符行数", "本次隔离行"],
               [[(r["run_id"] or "")[:8], r["started"], r["checks_run"], r["passed"], r["failed_error"],
                 r["failed_warn"], r["failing_rows"], r.get("rows_quarantined")] for r in summary["trend"]]),
        "</body></html>",
    ]
    return "\n".join(parts)


# ------------------------------------------------------------------------------------------------------
# GE data docs
# ------------------------------------------------------------------------------------------------------
def build_data_docs(home: DataHome, expectations_dir: Path = EXPECTATIONS_DIR) -> Path:
    """Render every suite and the stored validation results with GE's own site builder into
    ``reports/data_docs``. Built in a fresh ephemeral context: the results come from the quality store."""
    import great_expectations as gx
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResultSchema
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    from pipelines.quality.runner import _adapt, ephemeral_context

    site_dir = home.reports / "data_docs"
    context = ephemeral_context()
    context.add_data_docs_site("sewershare", {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site_dir)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"}})
    store = QualityStore(home)
    schema = ExpectationSuiteValidationResultSchema()
    for kind in ("raw", "marts"):
        for suite in load_suites(kind, expectations_dir).values():
            expectations = [ExpectationConfiguration(**_adapt(e, suite, {})).to_domain_obj()
                            for e in suite.expectations]
            context.suites.add(gx.ExpectationSuite(name=suite.name, meta={"title_zh": suite.title_zh},
                                                   expectations=expectations))
            for path in sorted(store.validations_dir(suite.name).glob("*.json")):
                raw = read_json(path)
                raw["suite_name"] = suite.name
                result = schema.load(raw)
                run_time = (raw.get("meta", {}).get("run_id") or {}).get("run_time")
                key = ValidationResultIdentifier(
                    expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite.name),
                    run_id=RunIdentifier(run_name=path.stem, run_time=run_time),
                    batch_identifier=path.stem)
                context.validation_results_store.set(key, result)
    context.build_data_docs(site_names=["sewershare"])
    return site_dir / "index.html"


def write_reports(home: DataHome, reader=None, *, data_docs: bool = True) -> dict[str, Path]:
    """Write the quality summary (HTML and JSON) and, unless ``data_docs=False``, the GE data docs.
    ``reader`` is a ``WarehouseResource.reader``-like context factory for the quarantine figures."""
    summary = build_summary(home, reader)
    out = {"summary_json": home.reports / "quality_summary.json",
           "summary_html": home.reports / "quality_summary.html"}
    write_json_atomic(out["summary_json"], summary)
    tmp = out["summary_html"].with_name(".quality_summary.html.tmp")
    tmp.write_text(render_html(summary), encoding="utf-8")
    os.replace(tmp, out["summary_html"])
    if data_docs:
        out["data_docs"] = build_data_docs(home)
    return out
