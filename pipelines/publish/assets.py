"""The publication asset ``["published", "warehouse"]``: downstream of every mart, gated on the quality checks.

In a run, Dagster does not even start this asset when a blocking check fails with ERROR upstream. Materialized on
its own, it checks the gate itself (the latest result of every blocking check, ``pipelines.quality.gate``) and
raises ``QualityGateError`` naming the failing checks. Either way ``published/`` and ``extracts/`` stay at the
last good version. After publishing it writes the quality reports.
"""

from collections.abc import Iterable, Mapping

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
from pipelines.quality.checks import blocking_check_ids, build_quality_checks, default_mart_keys, default_raw_keys
from pipelines.quality.evaluate import reader_for
from pipelines.quality.gate import assert_gate
from pipelines.quality.reports import write_reports
from pipelines.resources import HomeResource, WarehouseResource

PUBLISHED_KEY = AssetKey(["published", "warehouse"])


def build_publish_assets(mart_keys: Mapping[str, AssetKey] | None = None,
                         gate_check_ids: Iterable[str] | None = None, *,
                         reports: bool = True) -> list[AssetsDefinition]:
    """``gate_check_ids``: the ``asset:check`` ids that must have passed (default: every check
    ``build_quality_checks`` makes for the default keys)."""
    mart_keys = dict(default_mart_keys() if mart_keys is None else mart_keys)
    if gate_check_ids is None:
        gate_check_ids = blocking_check_ids(build_quality_checks(default_raw_keys(), mart_keys))
    gate = sorted(gate_check_ids)

    @asset(key=PUBLISHED_KEY, deps=list(mart_keys.values()), group_name="publish", pool=WAREHOUSE_POOL,
           description="发布：共享只读库 published/sewershare.duckdb 与 extracts/all 下的 Parquet 数据集及清单；"
                       "仅当全部阻断性质量检查通过时发布。Gated publication of the marts.")
    def published_warehouse(context: AssetExecutionContext, warehouse: WarehouseResource,
                            home: HomeResource) -> MaterializeResult:
        data_home = home.home
        assert_gate(data_home, gate)
        publication = publish(data_home, reader_for(warehouse), run_id=context.run.run_id, recipient=ALL)
        if reports:
            write_reports(data_home, reader_for(warehouse))
        return MaterializeResult(metadata={
            "发布库 published": MetadataValue.path(str(publication.published)),
            "数据集目录 extracts": MetadataValue.path(str(publication.extracts)),
            "数据集数 datasets": len(publication.manifests),
            "本次更新 changed": MetadataValue.json(publication.changed),
            "未变沿用 unchanged": MetadataValue.json(publication.unchanged),
            "行数 rows": MetadataValue.json({m["dataset"]: m["row_count"] for m in publication.manifests}),
            "脱敏列 masked": MetadataValue.json({m["dataset"]: m["masked_columns"]
                                              for m in publication.manifests if m["masked_columns"]}),
            "门禁检查数 gate_checks": len(gate),
        })

    return [published_warehouse]


publish_assets = build_publish_assets()
assets = publish_assets  # the name the brief gives
