"""What a run lost and what it did not understand, in words for people: the end-of-run summary
(``pipelines/main_job.py``) and ``sewershare labels``.

Everything is read back from the warehouse (audit.file_registry, quarantine.<feed>, audit.file_findings), so
the summary says what the tables say, whatever process loaded them.
"""
from __future__ import annotations

from collections.abc import Mapping

import duckdb

from pipelines.contracts import Contract
from pipelines.ingest import checks

SUMMARY_FILE_LINES = 30       # files that lost records, listed one per line (the rest are counted)
SUMMARY_LABEL_LINES = 30


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ? "
                            "AND database_name = current_database()", [schema, name]).fetchone()[0])


def run_losses(con: duckdb.DuckDBPyConnection, contracts: Mapping[str, Contract], run_id: str) -> list[dict]:
    """Every file of the run that lost records, worst first, with its feed, bound, reasons and fix."""
    if not _has_table(con, "audit", "file_registry"):
        return []
    out = []
    for feed, ids in con.execute(
            "SELECT feed, list(file_id ORDER BY file_id) FROM audit.file_registry WHERE run_id = ? "
            "AND (status = 'rejected' OR rows_quarantined > 0) GROUP BY feed ORDER BY feed", [run_id]).fetchall():
        contract = contracts.get(feed)
        if contract is None or not _has_table(con, "quarantine", feed):
            continue
        for loss in checks.file_losses(con, contract, ids):
            out.append({"feed": feed, **loss})
    return sorted(out, key=lambda x: (not x["over_bound"], -(x["share"] if x["share"] is not None else 2.0),
                                      x["feed"], x["file"]))


def unknown_labels(con: duckdb.DuckDBPyConnection, feed: str | None = None, run_id: str | None = None,
                   include_resolved: bool = False) -> list[tuple]:
    """(feed, field, kind, value, records, records quarantined, files, resolved_as) of labels and values the
    contracts could not read, most frequent first."""
    if not _has_table(con, "audit", "file_findings"):
        return []
    where = ["kind IN ('unknown_label', 'invalid_value')"]
    params: list = []
    if feed:
        where.append("feed = ?")
        params.append(feed)
    if run_id:
        where.append("run_id = ?")
        params.append(run_id)
    if not include_resolved:
        where.append("resolved_at IS NULL")
    return con.execute(f"""
        SELECT feed, field, kind, value, sum(count)::BIGINT, sum(rows_quarantined)::BIGINT,
               list(DISTINCT file_name ORDER BY file_name), any_value(resolved_as)
        FROM audit.file_findings WHERE {' AND '.join(where)}
        GROUP BY feed, field, kind, value ORDER BY feed, field, kind, sum(count) DESC, value
    """, params).fetchall()


def header_findings(con: duckdb.DuckDBPyConnection, feed: str | None = None,
                    run_id: str | None = None) -> list[tuple]:
    """(feed, kind, field, header, files) of header variants, unmatched headers and missing columns."""
    if not _has_table(con, "audit", "file_findings"):
        return []
    where, params = ["kind IN ('header_variant', 'unmatched_header', 'missing_column')"], []
    if feed:
        where.append("feed = ?")
        params.append(feed)
    if run_id:
        where.append("run_id = ?")
        params.append(run_id)
    return con.execute(f"""
        SELECT feed, kind, field, value, list(DISTINCT file_name ORDER BY file_name)
        FROM audit.file_findings WHERE {' AND '.join(where)}
        GROUP BY ALL ORDER BY feed, kind, field NULLS LAST, value NULLS FIRST
    """, params).fetchall()


def _field_zh(contracts: Mapping[str, Contract], feed: str, field: str | None) -> str:
    contract = contracts.get(feed)
    if contract is None or field is None:
        return field or ""
    column = next((c for c in contract.columns if c.name == field), None)
    return f"{column.zh}({field})" if column is not None else field


def _files(files: list[str], n: int = 3) -> str:
    return "、".join(files[:n]) + (f" 等 {len(files)} 个文件" if len(files) > n else "")


def summary_lines(con: duckdb.DuckDBPyConnection, contracts: Mapping[str, Contract], run_id: str) -> list[str]:
    """The run summary's sections on losses and unknown values (empty when the run lost nothing)."""
    lines: list[str] = []
    losses = run_losses(con, contracts, run_id)
    if losses:
        over = sum(1 for x in losses if x["over_bound"])
        lines.append(f"\n有损失的文件 (files that lost records): {len(losses)} 个, 超出上限 {over} 个 (over their bound)")
        for loss in losses[:SUMMARY_FILE_LINES]:
            zh, _ = checks.describe_loss(loss)
            lines.append(f"  {'✗' if loss['over_bound'] else '·'} [{loss['feed']}] {zh}")
        if len(losses) > SUMMARY_FILE_LINES:
            lines.append(f"  … 另有 {len(losses) - SUMMARY_FILE_LINES} 个文件，见 audit.file_registry 与 quarantine.<feed>")
    labels = unknown_labels(con, run_id=run_id)
    if labels:
        lines.append(f"\n未识别的取值 (values the contracts do not know): {len(labels)} 个；"
                     "行已保留、值为空或记为“其他”（描述性字段），或已隔离（结构性字段）。sewershare labels 列出全部")
        for feed, field, kind, value, n, nq, files, _ in labels[:SUMMARY_LABEL_LINES]:
            kept = n - nq
            where = f"{kept} 行保留" + (f"、{nq} 行隔离" if nq else "")
            lines.append(f"  [{feed}] {_field_zh(contracts, feed, field)}「{value}」×{n}（{where}）：{_files(files)}")
        if len(labels) > SUMMARY_LABEL_LINES:
            lines.append(f"  … 另有 {len(labels) - SUMMARY_LABEL_LINES} 个，运行 sewershare labels 查看")
    return lines


def labels_text(con: duckdb.DuckDBPyConnection, contracts: Mapping[str, Contract], feed: str | None = None,
                include_resolved: bool = False, headers: bool = True) -> str:
    """``sewershare labels``: every unknown label per feed and field, with counts, files and the contract line
    that would teach it; then the headers matched by rule, unmatched and missing."""
    out: list[str] = []
    rows = unknown_labels(con, feed, include_resolved=include_resolved)
    if not rows:
        out.append("没有未识别的取值 (no unknown labels or unreadable descriptive values).")
    current = None
    for f, field, kind, value, n, nq, files, resolved in rows:
        contract = contracts.get(f)
        if (f, field) != current:
            current = (f, field)
            where = f"sources/{f}.yml" if contract is not None else f
            out.append(f"\n{f}.{field}  {_field_zh(contracts, f, field)}  ({where})")
        kept = n - nq
        status = f"已映射为 {resolved}" if resolved else ("未识别" if kind == "unknown_label" else "无法读取")
        hint = ""
        if kind == "unknown_label" and not resolved:
            column = next((c for c in contract.columns if c.name == field), None) if contract else None
            if column is not None and column.type == "district":
                hint = f"   → 在 sources/reference/districts.csv 的 aliases 中加入「{value}」"
            else:
                codes = sorted({str(c) for c in column.values.values()}) if column is not None else []
                hint = f"   → 在 values 中加一行：{value}: <代码 code>" + (
                    f"（现有代码 codes：{', '.join(codes[:12])}{' …' if len(codes) > 12 else ''}）" if codes else "")
        elif nq and resolved:
            hint = "   → 隔离的行需重新报送 (quarantined records need the file again)"
        out.append(f"  「{value}」 ×{n}（保留 {kept}，隔离 {nq}；{status}）  {_files(files, 5)}{hint}")
    if headers:
        found = header_findings(con, feed)
        if found:
            out.append("\n表头 (headers)")
            words = {"header_variant": "按规则识别 matched by rule", "unmatched_header": "未识别 unmatched",
                     "missing_column": "文件缺列 missing"}
            for f, kind, field, header, files in found:
                what = f"「{header}」→ {field}" if kind == "header_variant" else (
                    f"「{header}」" if kind == "unmatched_header" else _field_zh(contracts, f, field))
                out.append(f"  [{f}] {words[kind]}: {what}  {_files(files)}")
    return "\n".join(out).lstrip("\n")
