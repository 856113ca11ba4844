"""One Dagster asset per feed contract: ``raw/<feed>`` in group ``ingest``.

The asset loads the feed's new landing files through the warehouse's serialised writer, reports the
counts as metadata (the operator's dashboard), evaluates the ingestion checks, and fails when accounting
would break. An unreadable file is rejected and recorded; it does not stop the other files.
"""

from collections.abc import Mapping

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
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
from pipelines.ingest.loader import FeedResult, IngestError, ingest_feed
from pipelines.ingest.normalise import sql_ident

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


def result_metadata(result: FeedResult) -> dict:
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
        "files 文件明细": MetadataValue.table(records=records, schema=FILE_TABLE_SCHEMA),
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
    )
    def _ingest(context: AssetExecutionContext) -> MaterializeResult:
        home = context.resources.home.home
        with context.resources.warehouse.writer() as con:
            before = _current_count(con, feed)
            try:
                result = ingest_feed(contract, home, con, run_id=context.run.run_id)
            except IngestError as exc:
                raise Failure(description=str(exc), metadata=result_metadata(exc.result)) from exc
            loaded_ids = [f.file_id for f in result.files if f.status == "loaded" and f.file_id is not None]
            run_ids = [f.file_id for f in result.files if f.file_id is not None]
            current = _current_count(con, feed)
            check_results = checks.evaluate(con, contract, loaded_ids, run_ids, before, current)
        for f in result.files:
            if f.status == "rejected":
                context.log.warning(f"{feed}: {f.file_name} 已拒收 rejected: {f.error}")
            elif f.status == "skipped_duplicate":
                context.log.info(f"{feed}: {f.file_name} 重复文件已跳过 skipped: {f.error}")
            else:
                context.log.info(f"{feed}: {f.file_name} {f.rows_read} 行读取, {f.rows_loaded} 行入库, "
                                 f"{f.rows_quarantined} 行隔离, {f.rows_unmapped} 行含未识别取值 ({f.seconds:.2f}s)")
        if result.remapped:
            context.log.info(f"{feed}: 按新契约重映射 re-mapped stored records: {result.remapped}")
        metadata = result_metadata(result)
        metadata["dagster/row_count"] = current
        return MaterializeResult(metadata=metadata, check_results=check_results)

    return _ingest


def build_ingest_assets(contracts: Mapping[str, Contract]) -> list[AssetsDefinition]:
    """One ``raw/<feed>`` asset per contract (adding a feed = adding a contract)."""
    return [build_ingest_asset(contract) for contract in contracts.values()]
