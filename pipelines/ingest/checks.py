"""Ingestion asset checks, evaluated inside each ``raw/<feed>`` asset right after its load.

They re-count from the tables themselves, not from the loader's own counters:

- ``ingest_accounting``: for every file of the feed ever registered, ``rows_read = rows_loaded +
  rows_quarantined``; and for the files of this run, the registry's counts equal the rows actually in
  ``quarantine.<feed>`` and the versions actually added to ``raw.<feed>`` (by ``_file_id``).
- ``ingest_one_current_version``: no key touched by this run has two current versions.

Both read only the registry and the rows of this run's files (``_file_id`` filters use zone maps), so they
cost what the new files cost, not the history.
"""
from __future__ import annotations

import duckdb
from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetKey, MetadataValue

from pipelines.contracts import Contract
from pipelines.ingest.normalise import sql_ident

ACCOUNTING = "ingest_accounting"
ONE_CURRENT = "ingest_one_current_version"


def check_specs(contract: Contract) -> list[AssetCheckSpec]:
    key = AssetKey(["raw", contract.feed])
    return [
        AssetCheckSpec(ACCOUNTING, asset=key, blocking=True,
                       description="每个文件：读取行数 = 入库行数 + 隔离行数，且与库内实际行数一致。"
                                   " Per file rows_read = rows_loaded + rows_quarantined, matching the tables."),
        AssetCheckSpec(ONE_CURRENT, asset=key, blocking=True,
                       description="本次接入涉及的主键各只有一个当前版本。"
                                   " Each key touched by this run has exactly one current version."),
    ]


def evaluate(con: duckdb.DuckDBPyConnection, contract: Contract, file_ids: list[int]) -> list[AssetCheckResult]:
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
