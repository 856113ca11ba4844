"""Ingestion asset checks, evaluated inside each ``raw/<feed>`` asset right after its load.

They re-count from the tables themselves, not from the loader's own counters:

- ``ingest_accounting``: for every file of the feed ever registered, ``rows_read = rows_loaded +
  rows_quarantined``; and for the files of this run, the registry's counts equal the rows actually in
  ``quarantine.<feed>`` and the versions actually added to ``raw.<feed>`` (by ``_file_id``).
- ``ingest_one_current_version``: no key touched by this run has two current versions.
- ``ingest_loss_bounds`` (the loud failure of issue 8): no file of this run lost more than the contract's
  ``loss_bounds`` allow (sources/_defaults.yml: more than 20 % of its records quarantined, at least 3; a
  rejected file), and the feed's current records did not drop by more than half. Blocking, ERROR: Dagster
  then skips everything downstream of ``raw/<feed>`` (the dbt build, publication), so published data stay
  at the last good version and the run does not report success. The message names each file, its loss,
  its top reasons and the fix.
- ``ingest_unmapped_values`` (WARN): descriptive values of this run's files the contract could not read
  (kept with NULL and counted in audit.file_findings); ``sewershare labels`` lists them.

Both read only the registry and the rows of this run's files (``_file_id`` filters use zone maps), so they
cost what the new files cost, not the history.
"""
from __future__ import annotations

import duckdb
from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetKey, MetadataValue

from pipelines.contracts import Contract
from pipelines.ingest.normalise import sql_ident
from pipelines.ingest.rules import RULES, fix_text

ACCOUNTING = "ingest_accounting"
ONE_CURRENT = "ingest_one_current_version"
LOSS_BOUNDS = "ingest_loss_bounds"
UNMAPPED = "ingest_unmapped_values"


def check_specs(contract: Contract) -> list[AssetCheckSpec]:
    key = AssetKey(["raw", contract.feed])
    return [
        AssetCheckSpec(ACCOUNTING, asset=key, blocking=True,
                       description="每个文件：读取行数 = 入库行数 + 隔离行数，且与库内实际行数一致。"
                                   " Per file rows_read = rows_loaded + rows_quarantined, matching the tables."),
        AssetCheckSpec(ONE_CURRENT, asset=key, blocking=True,
                       description="本次接入涉及的主键各只有一个当前版本。"
                                   " Each key touched by this run has exactly one current version."),
        AssetCheckSpec(LOSS_BOUNDS, asset=key, blocking=True,
                       description="损失上限：单个文件隔离行数不超过契约上限（默认 20%）、无被拒收文件、当前记录数未减半；"
                                   "超限则下游专题库不构建、不发布。 No file of this run lost more than its bound "
                                   "and the feed's current records did not drop by more than its bound."),
        AssetCheckSpec(UNMAPPED, asset=key, blocking=True,
                       description="描述性字段中契约不认识的取值（行已保留，值为空），见 sewershare labels。"
                                   " Descriptive values the contract could not read (rows kept)."),
    ]


def evaluate(con: duckdb.DuckDBPyConnection, contract: Contract, file_ids: list[int],
             run_file_ids: list[int] | None = None, current_before: int | None = None,
             current_after: int | None = None) -> list[AssetCheckResult]:
    """The checks after a load: ``file_ids`` the files loaded by it, ``run_file_ids`` every file it
    registered (rejected ones too), ``current_before`` / ``current_after`` the feed's current records."""
    return [*_integrity(con, contract, file_ids),
            loss_bounds(con, contract, run_file_ids if run_file_ids is not None else file_ids,
                        current_before, current_after),
            unmapped(con, contract, run_file_ids if run_file_ids is not None else file_ids)]


def _integrity(con: duckdb.DuckDBPyConnection, contract: Contract, file_ids: list[int]) -> list[AssetCheckResult]:
    key = AssetKey(["raw", contract.feed])
    feed = contract.feed
    unbalanced = con.execute(
        "SELECT file_name, rows_read, rows_loaded, rows_quarantined FROM audit.file_registry "
        "WHERE feed = ? AND rows_read <> rows_loaded + rows_quarantined ORDER BY file_id", [feed]).fetchall()
    mismatched = []
    if file_ids:
        ids = ", ".join(str(int(i)) for i in file_ids)
        mismatched = con.execute(f"""
            WITH q AS (SELECT _file_id, count(*) AS n FROM quarantine.{sql_ident(feed)}
                       WHERE _file_id IN ({ids}) GROUP BY ALL),
                 r AS (SELECT _file_id, count(*) AS n FROM raw.{sql_ident(feed)}
                       WHERE _file_id IN ({ids}) GROUP BY ALL)
            SELECT f.file_name, f.rows_quarantined, coalesce(q.n, 0), f.rows_new + f.rows_changed, coalesce(r.n, 0)
            FROM audit.file_registry f LEFT JOIN q ON q._file_id = f.file_id LEFT JOIN r ON r._file_id = f.file_id
            WHERE f.file_id IN ({ids}) AND f.status = 'loaded'
              AND (f.rows_quarantined <> coalesce(q.n, 0) OR f.rows_new + f.rows_changed <> coalesce(r.n, 0))
        """).fetchall()
    accounting = AssetCheckResult(
        asset_key=key, check_name=ACCOUNTING, passed=not unbalanced and not mismatched,
        severity=AssetCheckSeverity.ERROR,
        metadata={"不平衡文件 unbalanced_files": len(unbalanced), "与表不符 registry_table_mismatches": len(mismatched),
                  "示例 samples": MetadataValue.json([list(map(str, r)) for r in (unbalanced + mismatched)[:20]])},
    )

    duplicates = 0
    if file_ids and contract.primary_key:
        ids = ", ".join(str(int(i)) for i in file_ids)
        keys = ", ".join(sql_ident(k) for k in contract.primary_key)
        on = " AND ".join(f"c.{sql_ident(k)} IS NOT DISTINCT FROM t.{sql_ident(k)}" for k in contract.primary_key)
        window = ""
        if contract.partition_by:
            part = sql_ident(contract.partition_by)
            window = (f"AND c.{part} BETWEEN (SELECT min({part}) FROM touched) "
                      f"AND (SELECT max({part}) FROM touched)")
            keys_sel = f"{keys}, {part}"
        else:
            keys_sel = keys
        duplicates = con.execute(f"""
            WITH touched AS (SELECT DISTINCT {keys_sel} FROM raw.{sql_ident(feed)} WHERE _file_id IN ({ids}))
            SELECT count(*) FROM (
                SELECT {', '.join('t.' + sql_ident(k) for k in contract.primary_key)}
                FROM raw.{sql_ident(feed)} c JOIN touched t ON {on}
                WHERE c._is_current {window}
                GROUP BY ALL HAVING count(*) > 1)
        """).fetchone()[0]
    one_current = AssetCheckResult(
        asset_key=key, check_name=ONE_CURRENT, passed=duplicates == 0, severity=AssetCheckSeverity.ERROR,
        metadata={"多个当前版本的主键 keys_with_several_current_versions": duplicates},
    )
    return [accounting, one_current]


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def top_reasons(con: duckdb.DuckDBPyConnection, contract: Contract, file_id: int, limit: int = 3) -> list[tuple]:
    """(field, rule, records, an example value) of a file's most frequent quarantine reasons."""
    return con.execute(f"""
        SELECT r.field, r.rule, count(*) AS n,
               min(regexp_extract(r.message_zh, '（原值：(.*)）$', 1)) FILTER (WHERE r.message_zh LIKE '%（原值：%') AS ex
        FROM (SELECT unnest(reasons) AS r FROM quarantine.{sql_ident(contract.feed)} WHERE _file_id = ?)
        GROUP BY ALL ORDER BY n DESC, r.field NULLS LAST, r.rule LIMIT {int(limit)}
    """, [file_id]).fetchall()


def reason_words(contract: Contract, field: str | None, rule: str) -> tuple[str, str]:
    """「区县」(district_code) 不在允许的取值范围 / district_code: not one of the allowed values."""
    zh_rule, en_rule = RULES.get(rule, (rule, rule))
    if field is None:
        return zh_rule, en_rule
    column = next((c for c in contract.columns if c.name == field), None)
    zh_field = column.zh if column is not None else field
    return f"「{zh_field}」{zh_rule}", f"{field}: {en_rule}"


def file_losses(con: duckdb.DuckDBPyConnection, contract: Contract, file_ids: list[int]) -> list[dict]:
    """Each file among ``file_ids`` that lost records (quarantined some, or was rejected), with whether it
    is past the contract's bound, its top reasons and the fix."""
    if not file_ids:
        return []
    bounds = contract.loss_bounds
    share = float(bounds.get("file_quarantined_share", 0.2))
    min_rows = int(bounds.get("file_quarantined_min_rows", 1))
    rejected_fails = bool(bounds.get("file_rejected_fails", True))
    ids = ", ".join(str(int(i)) for i in file_ids)
    rows = con.execute(f"""
        SELECT file_id, file_name, status, rows_read, rows_quarantined, error FROM audit.file_registry
        WHERE feed = ? AND file_id IN ({ids}) AND (status = 'rejected' OR rows_quarantined > 0)
        ORDER BY file_id""", [contract.feed]).fetchall()
    out = []
    for file_id, name, status, read, quarantined, error in rows:
        if status == "rejected":
            fix_zh, fix_en = fix_text("rejected")
            out.append({"file_id": file_id, "file": name, "status": status, "rows_read": read,
                        "rows_quarantined": 0, "share": None, "over_bound": rejected_fails,
                        "reasons": [{"zh": "文件被拒收：" + (error or ""), "en": "file rejected", "rows": None}],
                        "fix_zh": fix_zh, "fix_en": fix_en})
            continue
        rate = quarantined / read if read else 0.0
        reasons = []
        for field, rule, n, example in top_reasons(con, contract, file_id):
            zh, en = reason_words(contract, field, rule)
            fix_zh, fix_en = fix_text(rule)
            reasons.append({"field": field, "rule": rule, "rows": n, "example": example, "zh": zh, "en": en,
                            "fix_zh": fix_zh.replace("<feed>", contract.feed),
                            "fix_en": fix_en.replace("<feed>", contract.feed)})
        out.append({"file_id": file_id, "file": name, "status": status, "rows_read": read,
                    "rows_quarantined": quarantined, "share": rate,
                    "over_bound": rate > share and quarantined >= min_rows, "reasons": reasons,
                    "fix_zh": reasons[0]["fix_zh"] if reasons else "", "fix_en": reasons[0]["fix_en"] if reasons else ""})
    return out


def describe_loss(loss: dict) -> tuple[str, str]:
    """One line per file for bureau staff (Chinese) and engineers (English)."""
    if loss["status"] == "rejected":
        return (f"文件「{loss['file']}」被拒收（全部记录未入库）：{loss['reasons'][0]['zh'][6:]}。修正：{loss['fix_zh']}",
                f"{loss['file']}: rejected (no record loaded). Fix: {loss['fix_en']}")
    tops_zh = "；".join(f"{r['zh']} {r['rows']} 行" + (f"（如「{r['example']}」）" if r.get("example") else "")
                       for r in loss["reasons"])
    tops_en = "; ".join(f"{r['en']} ×{r['rows']}" for r in loss["reasons"])
    return (f"文件「{loss['file']}」隔离 {loss['rows_quarantined']}/{loss['rows_read']} 行（{_pct(loss['share'])}）："
            f"{tops_zh}。修正：{loss['fix_zh']}",
            f"{loss['file']}: {loss['rows_quarantined']} of {loss['rows_read']} records quarantined "
            f"({_pct(loss['share'])}): {tops_en}. Fix: {loss['fix_en']}")


def loss_bounds(con: duckdb.DuckDBPyConnection, contract: Contract, run_file_ids: list[int],
                current_before: int | None, current_after: int | None) -> AssetCheckResult:
    key = AssetKey(["raw", contract.feed])
    bounds = contract.loss_bounds
    losses = file_losses(con, contract, run_file_ids)
    over = [loss for loss in losses if loss["over_bound"]]
    lines_zh, lines_en = [], []
    for loss in over:
        zh, en = describe_loss(loss)
        lines_zh.append(zh)
        lines_en.append(en)
    drop = float(bounds.get("feed_current_drop_share", 0.5))
    dropped = (current_before is not None and current_after is not None and current_before > 0
               and current_after < (1 - drop) * current_before)
    if dropped:
        lines_zh.append(f"数据项 {contract.feed} 当前记录由 {current_before} 条降至 {current_after} 条（降幅超过 {_pct(drop)}）")
        lines_en.append(f"feed {contract.feed}: current records fell from {current_before} to {current_after} "
                        f"(more than {_pct(drop)})")
    passed = not over and not dropped
    bound_words = (f"上限：单文件隔离超过 {_pct(float(bounds.get('file_quarantined_share', 0.2)))} 且不少于 "
                   f"{bounds.get('file_quarantined_min_rows', 1)} 行、文件被拒收、当前记录降幅超过 {_pct(drop)}")
    description = ("损失在上限之内。" + bound_words if passed else
                   f"{contract.title_zh}（{contract.feed}）超出损失上限，依赖该数据项的专题库本次不构建、不发布：\n"
                   + "\n".join(lines_zh) + "\n" + "\n".join(lines_en))
    return AssetCheckResult(
        asset_key=key, check_name=LOSS_BOUNDS, passed=passed, severity=AssetCheckSeverity.ERROR,
        description=description[:4000],
        metadata={"超限文件 files_over_bound": len(over),
                  "有损失文件 files_with_losses": len(losses),
                  "当前记录 current_before → after": f"{current_before} → {current_after}",
                  "文件 files": MetadataValue.json([{k: v for k, v in loss.items() if k != "file_id"}
                                                   for loss in losses[:50]]),
                  "上限 bounds": MetadataValue.json(bounds)},
    )


def unmapped(con: duckdb.DuckDBPyConnection, contract: Contract, run_file_ids: list[int]) -> AssetCheckResult:
    key = AssetKey(["raw", contract.feed])
    rows = []
    if run_file_ids:
        ids = ", ".join(str(int(i)) for i in run_file_ids)
        rows = con.execute(f"""
            SELECT field, kind, value, sum(count) AS n, list(DISTINCT file_name ORDER BY file_name) AS files
            FROM audit.file_findings
            WHERE feed = ? AND file_id IN ({ids}) AND kind IN ('unknown_label', 'invalid_value')
              AND count > rows_quarantined AND resolved_at IS NULL
            GROUP BY ALL ORDER BY n DESC, field, value""", [contract.feed]).fetchall()
    total = sum(r[3] for r in rows)
    return AssetCheckResult(
        asset_key=key, check_name=UNMAPPED, passed=not rows, severity=AssetCheckSeverity.WARN,
        description=(f"{len(rows)} 个描述性取值未能识别（共 {total} 处，行已保留，值为空）；运行 sewershare labels 查看。"
                     f" {len(rows)} descriptive value(s) not understood ({total} cells; rows kept)."
                     if rows else "描述性取值均已识别。 Every descriptive value was understood."),
        metadata={"未识别取值 values": len(rows), "单元格 cells": total,
                  "示例 samples": MetadataValue.json([{"field": f, "kind": k, "value": v, "count": n, "files": fl[:5]}
                                                    for f, k, v, n, fl in rows[:30]])},
    )
