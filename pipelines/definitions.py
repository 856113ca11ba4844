"""The one Definitions object of the sewershare code location.

Lineage runs from a bureau's file to an extract: ingest assets ``raw/<feed>`` (one per contract) →
dbt models (staging → marts; dbt tests as asset checks) → quality checks (GE suites) → publication →
sharing (catalogue, per-recipient extracts) and the progress report (``report/progress``, from the published copy).
"""
from __future__ import annotations

from dagster import AssetSelection, Definitions, ScheduleDefinition, define_asset_job

from pipelines.contracts import load_contracts
from pipelines.home import DataHome
from pipelines.ingest.assets import build_ingest_assets
from pipelines.publish.assets import publish_assets
from pipelines.quality.checks import build_quality_checks
from pipelines.report.assets import report_assets
from pipelines.resources import HomeResource, WarehouseResource
from pipelines.share.assets import share_assets
from pipelines.transform.assets import dbt_models, dbt_resource

MAIN_JOB_NAME = "sewershare_main"


def build_definitions(home: DataHome | None = None) -> Definitions:
    home = (home or DataHome.resolve()).ensure()
    contracts = load_contracts()
    ingest_assets = build_ingest_assets(contracts)
    assets = [*ingest_assets, dbt_models, *publish_assets, *share_assets, *report_assets]
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
        assets=assets,
        asset_checks=build_quality_checks(contracts),
        jobs=[main_job],
        schedules=[daily_refresh],
        resources={
            "home": HomeResource(root=str(home.root)),
            "warehouse": WarehouseResource(path=str(home.warehouse)),
            "dbt": dbt_resource(home),
        },
    )


defs = build_definitions()
