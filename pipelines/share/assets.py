"""The sharing asset ``["share", "extracts"]``, downstream of publication: the resource catalogue (JSON, xlsx) and
every recipient's extracts, after each passing gate. Overdue requests are reported as findings in its metadata."""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from pipelines.publish.assets import PUBLISHED_KEY
from pipelines.resources import HomeResource, WarehouseResource
from pipelines.share.catalogue import write_catalogue
from pipelines.share.extracts import write_recipient_extracts
from pipelines.share.requests import overdue

SHARE_KEY = AssetKey(["share", "extracts"])


@asset(key=SHARE_KEY, deps=[PUBLISHED_KEY], group_name="share",
       description="共享：共享目录（JSON、xlsx）与各共享对象的数据包 extracts/<共享对象>/；仅在发布（质量关口通过）之后运行。"
                   " The resource catalogue and every recipient's extracts, after publication.")
def shared_extracts(context: AssetExecutionContext, warehouse: WarehouseResource,
                    home: HomeResource) -> MaterializeResult:
    data_home = home.home
    catalogue = write_catalogue(data_home)
    result = write_recipient_extracts(data_home, warehouse.reader)
    findings = overdue(data_home)
    for f in findings:
        context.log.warning(f.message)
    return MaterializeResult(metadata={
        "共享目录 catalogue": MetadataValue.path(str(data_home.root / "share" / "catalogue.xlsx")),
        "数据集数 datasets": len(catalogue["entries"]),
        "新版本数 new_versions": result.new_versions,
        "未变化 unchanged": sum(len(v) for v in result.unchanged.values()),
        "数据包形态数 variants": result.variants,
        "逾期申请 overdue_requests": MetadataValue.json([f.message for f in findings]),
    })


share_assets = [shared_extracts]
