"""The one Definitions object of the sewershare code location.

Lineage runs from a bureau's file to an extract: ingest assets ``raw/<feed>`` (one per contract, with their
ingestion checks) → dbt models (staging → marts; dbt tests as asset checks) → the marts' great-expectations
suites (asset checks) → publication. Importing this module builds nothing: Dagster's loader finds ``defs``
(a lazy ``@definitions`` function) and calls it; ``sewershare run`` calls ``build_definitions(home)``.
"""
from __future__ import annotations

from dagster import AssetSelection, Definitions, ScheduleDefinition, define_asset_job, definitions

from pipelines.contracts import load_contracts
from pipelines.home import DataHome
from pipelines.ingest.assets import build_ingest_assets
from pipelines.publish.assets import build_publish_assets
from pipelines.quality.checks import build_mart_checks
from pipelines.resources import HomeResource, WarehouseResource
from pipelines.transform.assets import build_dbt_assets, dbt_resource

MAIN_JOB_NAME = "sewershare_main"


def build_definitions(home: DataHome | None = None) -> Definitions:
    home = (home or DataHome.resolve()).ensure()
    ingest_assets = build_ingest_assets(load_contracts())
    dbt_assets = build_dbt_assets()
    marts = {key.path[-1]: key for key in dbt_assets.keys if key.path[0] == "marts"}
    main_job = define_asset_job(
        MAIN_JOB_NAME, selection=AssetSelection.all(),
        description="全量作业：接入各部门文件 → dbt 构建共享专题库 → 质量关口 → 发布只读库与数据包。"
                    " Ingest every feed, build the marts, run the gate, publish.",
    )
    daily_refresh = ScheduleDefinition(
        name="daily_refresh", job=main_job, cron_schedule="0 2 * * *",
        execution_timezone="Asia/Shanghai",
        description="每日02:00刷新 (daily refresh at 02:00 China time)",
    )
    return Definitions(
        assets=[*ingest_assets, dbt_assets, *build_publish_assets(marts.values())],
        asset_checks=build_mart_checks(marts),
        jobs=[main_job],
        schedules=[daily_refresh],
        resources={
            "home": HomeResource(root=str(home.root)),
            "warehouse": WarehouseResource(path=str(home.warehouse)),
            "dbt": dbt_resource(home),
        },
    )


@definitions
def defs() -> Definitions:
    """What ``dagster dev`` / ``make dagster`` load (the data home from ``SEWERSHARE_HOME``)."""
    return build_definitions()
