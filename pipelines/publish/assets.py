"""The publication asset ``["published", "warehouse"]``: downstream of every mart, gated on Dagster's asset checks.

In a run, Dagster does not start this asset when a blocking check upstream fails with ERROR (the marts' suites,
the dbt tests of severity error, the ingestion checks). Materialized on its own, it reads the latest result of
every blocking check upstream from the Dagster instance and raises ``QualityGateError`` naming each one that
failed, never ran, or is older than its asset's data. Either way ``published/`` and ``extracts/`` stay at the
last good version. The results of the published marts' checks go into the copy as ``meta.quality_status``.
"""

from collections.abc import Iterable

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from pipelines.operations.instance import WAREHOUSE_POOL
from pipelines.publish.policy import ALL
from pipelines.publish.writer import publish
from pipelines.quality.status import assert_upstream_checks_pass
from pipelines.resources import HomeResource, WarehouseResource

PUBLISHED_KEY = AssetKey(["published", "warehouse"])


def build_publish_assets(mart_keys: Iterable[AssetKey]) -> list[AssetsDefinition]:
    marts = sorted(mart_keys, key=lambda k: k.to_user_string())

    @asset(key=PUBLISHED_KEY, deps=marts, group_name="publish", pool=WAREHOUSE_POOL,
           description="发布：共享只读库 published/sewershare.duckdb 与 extracts/all 下的 Parquet 数据集及清单；"
                       "仅当全部阻断性质量检查通过时发布。Gated publication of the marts.")
    def published_warehouse(context: AssetExecutionContext, warehouse: WarehouseResource,
                            home: HomeResource) -> MaterializeResult:
        # the whole graph the job was cut from: publication selected on its own still sees every check upstream
        asset_graph = context.job_def.asset_layer.asset_graph.source_asset_graph
        statuses = assert_upstream_checks_pass(context.instance, asset_graph, PUBLISHED_KEY)
        published = {k.to_user_string() for k in marts}
        quality = [s.row() for s in statuses if s.asset in published]
        publication = publish(home.home, lambda: warehouse.reader(extensions=()), run_id=context.run.run_id,
                              recipient=ALL, quality_status=quality)
        return MaterializeResult(metadata={
            "发布库 published": MetadataValue.path(str(publication.published)),
            "数据集目录 extracts": MetadataValue.path(str(publication.extracts)),
            "数据集数 datasets": len(publication.manifests),
            "本次更新 changed": MetadataValue.json(publication.changed),
            "未变沿用 unchanged": MetadataValue.json(publication.unchanged),
            "行数 rows": MetadataValue.json({m["dataset"]: m["row_count"] for m in publication.manifests}),
            "脱敏列 masked": MetadataValue.json({m["dataset"]: m["masked_columns"]
                                              for m in publication.manifests if m["masked_columns"]}),
            "上游检查数 upstream_checks": len(statuses),
            "未通过的非阻断检查 not_passed": sum(1 for s in statuses if s.passed is False),
        })

    return [published_warehouse]
