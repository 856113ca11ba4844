"""One Dagster asset per feed contract: ``raw/<feed>`` in group ``ingest``.

The asset loads the feed's new landing files through the warehouse's serialised writer, reports the
counts as metadata (the operator's dashboard), evaluates the ingestion checks, and fails when accounting
would break. An unreadable file is rejected and recorded; it does not stop the other files.

Which files: those named in the run config (``files``: what the run plan or a landing sensor admitted), else
every settled file waiting in ``landing/<feed>/``. A time-series feed (contract ``partition_by``) is daily
partitioned: its run covers a range of days and loads only the files whose rows all fall in that range
(``pipelines/ingest/partitions.py``). Every ingest asset is in the ``warehouse`` concurrency pool.
"""

import warnings
from collections.abc import Mapping

from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetMaterialization,
    AssetsDefinition,
    BackfillPolicy,
    BetaWarning,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableRecord,
    TableSchema,
    asset,
)

from pipelines.contracts import Contract
from pipelines.ingest import checks
from pipelines.home import DataHome
from pipelines.ingest.landing import settled_files
from pipelines.ingest.loader import FeedResult, IngestError, ingest_feed
from pipelines.ingest.normalise import sql_ident
from pipelines.ingest.partitions import DAILY, covers, is_partitioned, partition_days, partition_key
from pipelines.operations.instance import WAREHOUSE_POOL

GROUP = "ingest"
# Dagster owner/tag values must be ASCII; the Chinese bureau names stay in the metadata.
BUREAU_TEAMS = {"市综合执法局": "urban_management", "市生态环境局": "ecology_environment",
                "市建设局": "construction", "市自然资源和规划局": "natural_resources", "市大数据局": "big_data"}

FILE_TABLE_SCHEMA = TableSchema(columns=[
    TableColumn("file", "string"), TableColumn("status", "string"), TableColumn("rows_read", "int"),
    TableColumn("rows_loaded", "int"), TableColumn("rows_quarantined", "int"), TableColumn("rows_unmapped", "int"),
    TableColumn("new", "int"),
    TableColumn("changed", "int"), TableColumn("unchanged", "int"), TableColumn("encoding", "string"),
    TableColumn("crs", "string"), TableColumn("seconds", "float"), TableColumn("error", "string"),
])


def _owners(contract: Contract) -> list[str]:
    teams = [BUREAU_TEAMS[b.strip()] for b in contract.owner.replace("，", ",").split(",")
             if b.strip() in BUREAU_TEAMS]
    return [f"team:{t}" for t in dict.fromkeys(teams)]


class IngestConfig(Config):
    """Run configuration of an ingestion asset."""

    files: list[str] | None = None
    """Names of the files in ``landing/<feed>/`` to load (those of a run plan or a landing sensor); the
    others stay for a later run. Empty: every settled file waiting there."""


def files_to_load(contract: Contract, home: DataHome, config: IngestConfig,
                  context: AssetExecutionContext) -> list[Path]:
    """The files this run loads: the configured ones still waiting, else the settled ones; for a partitioned
    feed without a file list, only those whose days are all inside the run's partitions."""
    folder = home.landing_for(contract.feed)
    if config.files is not None:
        chosen = [folder / name for name in config.files if (folder / name).is_file()]
        for name in sorted(set(config.files) - {p.name for p in chosen}):
            context.log.info(f"{contract.feed}: {name} 已不在接收目录（已由其他运行接入）no longer waiting")
        return chosen
    chosen = settled_files(contract, home)
    if is_partitioned(contract) and chosen:
        keys = context.partition_key_range
        days = partition_days(contract, chosen)
        outside = [p for p in chosen if not covers(keys, days[p])]
        for p in outside:
            context.log.info(f"{contract.feed}: {p.name} 含本次分区 {keys.start}…{keys.end} 以外的日期，留待其分区的运行 "
                             f"(holds days outside this run's partitions; left for their run)")
        chosen = [p for p in chosen if p not in outside]
    return chosen


def loaded_days(con, contract: Contract, file_ids: list[int]) -> set:
    """The days (``partition_by``) of the versions these files added to ``raw.<feed>``."""
    if not is_partitioned(contract) or not file_ids:
        return set()
    ids = ", ".join(str(int(i)) for i in file_ids)
    return {r[0] for r in con.execute(
        f"SELECT DISTINCT {sql_ident(contract.partition_by)} FROM raw.{sql_ident(contract.feed)} "
        f"WHERE _file_id IN ({ids}) AND {sql_ident(contract.partition_by)} IS NOT NULL").fetchall()}


def record_days_outside_range(context: AssetExecutionContext, days: set) -> None:
    """The run's partitions come from a scan of the files before loading; should the loaded rows hold a day
    outside them, that day's partition is recorded as materialized too, so the event log (which the daily
    models rebuild from, pipelines/transform/daily.py) names every day that changed."""
    keys = context.partition_key_range
    in_run = set(DAILY.get_partition_keys_in_range(keys))
    for key in sorted({partition_key(d) for d in days} - in_run):
        context.log.warning(f"{context.asset_key.to_user_string()}: 接入的数据含本次分区以外的日期 {key}，"
                            f"已补记该分区 (loaded rows of a day outside the run's partitions; recorded)")
        context.log_event(AssetMaterialization(asset_key=context.asset_key, partition=key,
                                               metadata={"recorded_by 补记": "rows outside the run's partitions"}))


def result_metadata(result: FeedResult, files_table: bool = True) -> dict:
    records = [TableRecord({
        "file": f.file_name, "status": f.status, "rows_read": f.rows_read, "rows_loaded": f.rows_loaded,
        "rows_quarantined": f.rows_quarantined, "rows_unmapped": f.rows_unmapped, "new": f.rows_new, "changed": f.rows_changed,
        "unchanged": f.rows_unchanged, "encoding": f.encoding or "", "crs": f.crs or "",
        "seconds": round(f.seconds, 3), "error": (f.error or "")[:500],
    }) for f in result.files]
    return {
        "files_loaded 已接入文件": result.files_loaded,
        "files_skipped 重复跳过": result.files_skipped,
        "files_rejected 无法读取": result.files_rejected,
        "rows_read 读取行数": result.rows_read,
        "rows_loaded 入库行数": result.rows_loaded,
        "rows_quarantined 隔离行数": result.rows_quarantined,
        "rows_unmapped 含未识别取值的行": result.rows_unmapped,
        "remapped 按新契约重映射的行": MetadataValue.json(result.remapped),
        **({"files 文件明细": MetadataValue.table(records=records, schema=FILE_TABLE_SCHEMA)} if files_table else {}),
    }


def _current_count(con, feed: str) -> int:
    exists = con.execute("SELECT count(*) FROM duckdb_views() WHERE schema_name = 'raw' AND view_name = ? "
                         "AND database_name = current_database()", [feed + "_current"]).fetchone()[0]
    if not exists:
        return 0
    return con.execute(f"SELECT count(*) FROM raw.{sql_ident(feed + '_current')}").fetchone()[0]


def build_ingest_asset(contract: Contract) -> AssetsDefinition:
    feed = contract.feed
    contract_path = str(contract.path.relative_to(contract.path.parent.parent)) if contract.path else None

    @asset(
        key=["raw", feed], group_name=GROUP,
        description=f"{contract.title_zh}（{contract.owner}）。{contract.description}",
        required_resource_keys={"home", "warehouse"},
        owners=_owners(contract),
        tags={"cadence": contract.cadence, "format": contract.format, "layer": "raw"},
        kinds={"duckdb"},
        metadata={"owner 数据责任单位": contract.owner, "cadence 报送频率": contract.cadence,
                  "format": contract.format, "primary_key": ", ".join(contract.primary_key),
                  "partition_by": contract.partition_by or "", "contract": contract_path or "",
                  "table": f"raw.{feed}", "current_view": f"raw.{feed}_current",
                  "quarantine": f"quarantine.{feed}"},
        check_specs=checks.check_specs(contract),
        partitions_def=DAILY if is_partitioned(contract) else None,
        backfill_policy=BackfillPolicy.single_run() if is_partitioned(contract) else None,
        pool=WAREHOUSE_POOL,
    )
    def _ingest(context: AssetExecutionContext, config: IngestConfig) -> MaterializeResult:
        home = context.resources.home.home
        paths = files_to_load(contract, home, config, context)
        with context.resources.warehouse.writer() as con:
            before = _current_count(con, feed)
            try:
                result = ingest_feed(contract, home, con, run_id=context.run.run_id, paths=paths)
            except IngestError as exc:
                raise Failure(description=str(exc), metadata=result_metadata(exc.result)) from exc
            loaded_ids = [f.file_id for f in result.files if f.status == "loaded" and f.file_id is not None]
            run_ids = [f.file_id for f in result.files if f.file_id is not None]
            current = _current_count(con, feed)
            check_results = checks.evaluate(con, contract, loaded_ids, run_ids, before, current)
            days = loaded_days(con, contract, loaded_ids)
        if is_partitioned(contract):
            record_days_outside_range(context, days)
        # One log line per feed (every log line is an event in the instance); the files are in the metadata
        # table and in audit.file_registry. A rejected file is a warning of its own.
        for f in result.files:
            if f.status == "rejected":
                context.log.warning(f"{feed}: {f.file_name} 已拒收 rejected: {f.error}")
        context.log.info(f"{feed}: {result.files_loaded} 个文件接入, {result.files_skipped} 个重复跳过, "
                         f"{result.files_rejected} 个拒收; {result.rows_read} 行读取, {result.rows_loaded} 行入库, "
                         f"{result.rows_quarantined} 行隔离, {result.rows_unmapped} 行含未识别取值 (files loaded, "
                         f"skipped, rejected; rows read, loaded, quarantined, with unknown descriptive values)")
        if result.remapped:
            context.log.info(f"{feed}: 按新契约重映射 re-mapped stored records: {result.remapped}")
        # A partitioned run records one materialization per day with the same metadata: over a long range the
        # per-file table would be copied into every day (audit.file_registry and the run log keep it).
        one_day = not context.has_partition_key_range or context.partition_key_range.start == \
            context.partition_key_range.end
        metadata = result_metadata(result, files_table=not is_partitioned(contract) or one_day)
        metadata["dagster/row_count"] = current
        return MaterializeResult(metadata=metadata, check_results=check_results)

    return _ingest


def build_ingest_assets(contracts: Mapping[str, Contract]) -> list[AssetsDefinition]:
    """One ``raw/<feed>`` asset per contract (adding a feed = adding a contract)."""
    with warnings.catch_warnings():
        # the single-run backfill policy of the partitioned feeds is marked beta in Dagster 1.13
        warnings.simplefilter("ignore", BetaWarning)
        return [build_ingest_asset(contract) for contract in contracts.values()]
