"""The one Definitions object of the sewershare code location.

Lineage runs from a bureau's file to an extract: ingest assets ``raw/<feed>`` (one per contract, with their
ingestion checks; the time-series feeds daily partitioned) → dbt models (staging → marts; dbt tests as asset
checks) → the marts' great-expectations suites (asset checks) → publication → sharing (catalogue, per-recipient
extracts) and the progress report (``report/progress``, from the published copy). Runs start from a landing sensor
per feed, the daily schedule, or ``sewershare run``; each selects only what changed
(``pipelines/operations/plan.py``). Runs execute in one process: warehouse writers take turns anyway (the
``warehouse`` pool), and a process per step would cost more than most steps.

Importing this module builds nothing: Dagster's loader finds ``defs`` (a lazy ``@definitions`` function) and calls
it; ``sewershare run`` calls ``build_definitions(home)``.
"""
from __future__ import annotations

from dagster import AssetSelection, Definitions, define_asset_job, definitions, in_process_executor

from pipelines.contracts import load_contracts
from pipelines.home import DataHome
from pipelines.ingest.assets import build_ingest_assets
from pipelines.ingest.freshness import build_freshness_checks
from pipelines.ingest.sensors import build_landing_sensors
from pipelines.operations.alerts import alert_resource
from pipelines.operations.schedules import build_daily_schedule
from pipelines.operations.sensors import build_run_failure_sensor
from pipelines.publish.assets import build_publish_assets
from pipelines.quality.checks import build_mart_checks
from pipelines.report.assets import report_assets
from pipelines.resources import HomeResource, WarehouseResource
from pipelines.share.assets import share_assets
from pipelines.transform.assets import build_dbt_assets, dbt_resource

MAIN_JOB_NAME = "sewershare_main"


def build_definitions(home: DataHome | None = None) -> Definitions:
    home = (home or DataHome.resolve()).ensure()
    contracts = load_contracts()
    dbt_assets = build_dbt_assets()
    marts = {key.path[-1]: key for key in dbt_assets.keys if key.path[0] == "marts"}
    main_job = define_asset_job(
        MAIN_JOB_NAME, selection=AssetSelection.all(),
        description="全量作业：接入各部门文件 → dbt 构建共享专题库 → 质量关口 → 发布只读库与数据包 → 共享与进展报告。"
                    "传感器、定时任务与 sewershare run 只运行其中有变化的部分。"
                    " Ingest, build the marts, run the gate, publish, share, report; runs select what changed.",
    )
    return Definitions(
        assets=[*build_ingest_assets(contracts), dbt_assets, *build_publish_assets(marts.values()),
                *share_assets, *report_assets],
        asset_checks=[*build_mart_checks(marts), build_freshness_checks(contracts)],
        jobs=[main_job],
        schedules=[build_daily_schedule(MAIN_JOB_NAME)],
        sensors=[*build_landing_sensors(contracts, MAIN_JOB_NAME), build_run_failure_sensor()],
        executor=in_process_executor,
        resources={
            "home": HomeResource(root=str(home.root)),
            "warehouse": WarehouseResource(path=str(home.warehouse)),
            "dbt": dbt_resource(home),
            "alerts": alert_resource(home),
        },
    )


@definitions
def defs() -> Definitions:
    """What ``dagster dev`` / ``make dagster`` load (the data home from ``SEWERSHARE_HOME``)."""
    return build_definitions()
