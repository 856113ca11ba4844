"""Run the main job in-process and print what it did, per feed and per blocking check."""
from __future__ import annotations

import os
import sys

from dagster import AssetCheckSeverity, DagsterInstance

from pipelines import duck
from pipelines.home import DataHome


def _instance(home: DataHome) -> DagsterInstance:
    # Runs are recorded under the data home so `make dagster` shows the same history.
    dagster_home = home.root / "dagster"
    dagster_home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    return DagsterInstance.get()


def _print_feed_summary(home: DataHome, run_id: str) -> None:
    if not home.warehouse.exists():
        return
    con = duck.connect(home.warehouse, read_only=True, extensions=())
    try:
        rows = con.execute(
            """
            SELECT feed,
                   count(*) FILTER (WHERE status = 'loaded')            AS files_loaded,
                   count(*) FILTER (WHERE status = 'skipped_duplicate') AS files_skipped,
                   count(*) FILTER (WHERE status = 'rejected')          AS files_rejected,
                   coalesce(sum(rows_loaded), 0)                        AS rows_loaded,
                   coalesce(sum(rows_quarantined), 0)                   AS rows_quarantined
            FROM audit.file_registry WHERE run_id = ? GROUP BY feed ORDER BY feed
            """,
            [run_id],
        ).fetchall()
    finally:
        con.close()
    header = f"{'feed':<20}{'loaded':>8}{'skipped':>9}{'rejected':>10}{'rows loaded':>13}{'quarantined':>13}"
    print("\n本次接入汇总 (ingestion summary, this run)\n" + header + "\n" + "-" * len(header))
    for feed, loaded, skipped, rejected, rows_loaded, rows_q in rows:
        print(f"{feed:<20}{loaded:>8}{skipped:>9}{rejected:>10}{rows_loaded:>13}{rows_q:>13}")
    if not rows:
        print("(没有新文件 no new files)")


def run_main_job(home: DataHome, reporting_date: str | None = None) -> int:
    from pipelines.definitions import MAIN_JOB_NAME, build_definitions

    os.environ["SEWERSHARE_HOME"] = str(home.root)
    defs = build_definitions(home)
    job = defs.resolve_job_def(MAIN_JOB_NAME)
    run_config: dict = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
    if reporting_date:
        run_config["ops"] = {"dbt_models": {"config": {"reporting_date": reporting_date}}}
    result = job.execute_in_process(instance=_instance(home), raise_on_error=False, run_config=run_config)
    _print_feed_summary(home, result.run_id)

    failed_checks = [
        e for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity == AssetCheckSeverity.ERROR
    ]
    warned = [e for e in result.get_asset_check_evaluations()
              if not e.passed and e.severity == AssetCheckSeverity.WARN]
    print(f"\n质量检查 (checks): {len(result.get_asset_check_evaluations())} 项, "
          f"阻断失败 {len(failed_checks)} (blocking failures), 警告 {len(warned)} (warnings)")
    for evaluation in failed_checks:
        meta = {k: getattr(v, "value", v) for k, v in evaluation.metadata.items()}
        print(f"  ✗ {evaluation.check_name} on {evaluation.asset_key.to_user_string()}: "
              f"failing_rows={meta.get('failing_rows')} sample={meta.get('sample_values')}")
    for event in result.get_step_failure_events():
        error = event.step_failure_data.error
        print(f"  ✗ step {event.step_key}: {error.message.strip() if error else 'failed'}", file=sys.stderr)

    if result.success and not failed_checks:
        print(f"\nsewershare: 运行成功，已发布 → {home.published} , {home.extracts / 'all'}；"
              f"共享目录与各部门数据包 → {home.root / 'share'} , {home.extracts}/<共享对象>")
        return 0
    from pipelines.quality import gate_message, write_reports
    from pipelines.quality.evaluate import reader_for

    if home.warehouse.exists():
        write_reports(home, reader_for(str(home.warehouse)))
    message = gate_message(home)
    if message:
        print(message, file=sys.stderr)
    print("\nsewershare: 运行未通过质量关口或出错，已发布版本保持不变 "
          "(run failed or was blocked; published data stay at the last good version)", file=sys.stderr)
    return 1
