"""共享目录 (the resource catalogue): one entry per shared dataset, in the fields of a GB/T 21063.3 核心元数据 entry
(资源名称, 资源代码, 提供方, 摘要, 信息项, 格式, 共享类型, 共享条件, 共享方式, 更新周期, 发布日期, plus 数据分级 per
GB/T 43697-2024), built from the dbt manifest, the contracts, the sharing configuration and the published copy.

Published as JSON (for machines and the portal), as an xlsx (the form bureaus exchange) and as the portal's
catalogue page. The published copy is opened read-only; the warehouse is never opened.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pipelines import duck
from pipelines.home import DataHome
from pipelines.publish.policy import personal_columns
from pipelines.publish.safe_text import safe_text
from pipelines.share.config import GRADES, load_recipients, load_sharing_config
from pipelines.share.dictionary import mart_infos, unique_headers

CATALOGUE_JSON = "catalogue.json"
CATALOGUE_XLSX = "catalogue.xlsx"


class CatalogueError(ValueError):
    pass


def share_dir(home: DataHome) -> Path:
    path = home.root / "share"
    path.mkdir(parents=True, exist_ok=True)
    return path


def published_schema(home: DataHome) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, Any]]]:
    """Column types per mart, and the publication record per dataset, from the published copy."""
    if not home.published.exists():
        return {}, {}
    con = duck.connect(home.published, read_only=True, extensions=())
    try:
        types: dict[str, dict[str, str]] = {}
        for table, col, typ in con.execute(
                "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE schema_name = 'marts' "
                "ORDER BY table_name, column_index").fetchall():
            types.setdefault(table, {})[col] = typ
        record = {}
        rows = con.execute("SELECT dataset, row_count, sha256, run_id, generated_at FROM meta.publication").fetchall()
        for dataset, rows_, sha, run_id, generated in rows:
            record[dataset] = {"row_count": rows_, "sha256": sha, "run_id": run_id,
                               "generated_at": generated.isoformat() if generated else None}
        return types, record
    finally:
        con.close()


def _max_grade(grades: list[str]) -> str:
    return max(grades, key=GRADES.index)


def build_catalogue(home: DataHome) -> dict[str, Any]:
    """The catalogue of every mart in the published copy. Raises :class:`CatalogueError` when a mart has no entry in
    sharing/datasets.yml, a column has no Chinese name, or a column grade names a column the mart lacks."""
    config = load_sharing_config()
    infos = mart_infos()
    recipients = load_recipients()
    types, record = published_schema(home)
    problems = []
    entries = []
    for mart in sorted(types):
        if mart not in config.datasets:
            problems.append(f"{mart}: 共享目录配置中没有条目 (no entry in sharing/datasets.yml)")
            continue
        if mart not in infos:
            problems.append(f"{mart}: dbt manifest 中没有该数据集的说明 (not documented in the marts' YAML)")
            continue
        cfg, info = config.datasets[mart], infos[mart]
        columns = list(types[mart])
        unknown = sorted(set(cfg.column_grades) - set(columns))
        if unknown:
            problems.append(f"{mart}: column_grades 中的列不存在 {unknown}")
        personal = set(personal_columns(mart, columns, info.meta))
        items = []
        for col in columns:
            ci = info.columns.get(col)
            if ci is None or not ci.zh:
                problems.append(f"{mart}.{col}: 没有中文名称 (no Chinese name in the marts' YAML)")
                continue
            items.append({"字段名": col, "中文名称": ci.zh, "数据类型": types[mart][col],
                          "数据分级": cfg.column_grades.get(col, cfg.grade), "个人信息": col in personal,
                          "说明": ci.description})
        geometry = any(t.upper().startswith("GEOMETRY") for t in types[mart].values())
        rows = (record.get(mart) or {}).get("row_count")
        formats = ["GeoParquet" if geometry else "Parquet"]
        if rows is not None and rows <= config.small_dataset_rows:
            formats += ["CSV", "XLSX"]
        if geometry:
            formats.append("GeoJSON（EPSG:4490）")
        provider = recipients.get(cfg.provider)
        entries.append({
            "dataset": mart,
            "资源名称": info.zh,
            "资源代码": config.code(mart),
            "提供方": provider.name_zh if provider else cfg.provider,
            "提供方代码": cfg.provider,
            "数据责任部门": [recipients[o].name_zh if o in recipients else o for o in cfg.all_owners],
            "摘要": info.summary,
            "信息项": items,
            "格式": formats,
            "共享类型": cfg.share_type_zh,
            "共享条件": cfg.conditions or ("无" if cfg.share_type == "unconditional" else cfg.basis),
            "共享方式": list(cfg.methods),
            "更新周期": info.cadence,
            "发布日期": ((record.get(mart) or {}).get("generated_at") or "")[:10],
            "数据分级": _max_grade([cfg.grade, *[i["数据分级"] for i in items]]),
            "来源数据": list(info.feeds),
            "行数": rows,
            "share_type": cfg.share_type,
            "district_scoped": config.district_column in columns,
            "headers": unique_headers([info.columns[c] for c in columns if c in info.columns]),
        })
    if problems:
        raise CatalogueError("共享目录不完整 (catalogue incomplete):\n- " + "\n- ".join(problems))
    return {"title": "台州市污水管网数据共享目录", "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(
        timespec="seconds"), "entries": entries}


def _atomic_write(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


CATALOGUE_COLUMNS = ("资源代码", "资源名称", "提供方", "摘要", "格式", "共享类型", "共享条件", "共享方式", "更新周期",
                     "发布日期", "数据分级", "信息项数")
ITEM_COLUMNS = ("资源代码", "资源名称", "字段名", "中文名称", "数据类型", "数据分级", "个人信息", "说明")


def write_xlsx(catalogue: dict[str, Any], path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = "共享目录"
    ws.append(list(CATALOGUE_COLUMNS))
    for e in catalogue["entries"]:
        row = {**e, "格式": "、".join(e["格式"]), "共享方式": "、".join(e["共享方式"]), "信息项数": len(e["信息项"])}
        ws.append([safe_text(row[c]) for c in CATALOGUE_COLUMNS])
    items = wb.create_sheet("信息项")
    items.append(list(ITEM_COLUMNS))
    for e in catalogue["entries"]:
        for i in e["信息项"]:
            row = {**i, "资源代码": e["资源代码"], "资源名称": e["资源名称"], "个人信息": "是" if i["个人信息"] else "否"}
            items.append([safe_text(row[c]) for c in ITEM_COLUMNS])
    for sheet in (ws, items):
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
        for col in sheet.columns:
            letter = col[0].column_letter
            sheet.column_dimensions[letter].width = min(60, max(10, *(len(str(c.value or "")) * 1.6 for c in col[:50])))
            for c in col:
                c.alignment = Alignment(wrap_text=True, vertical="top")
    wb.properties.title = catalogue["title"]
    wb.save(path)


def write_catalogue(home: DataHome) -> dict[str, Any]:
    """Build the catalogue and write ``share/catalogue.json`` and ``share/catalogue.xlsx`` atomically."""
    catalogue = build_catalogue(home)
    target = share_dir(home)
    _atomic_write(target / CATALOGUE_JSON, lambda p: p.write_text(
        json.dumps(catalogue, ensure_ascii=False, indent=1), encoding="utf-8"))
    _atomic_write(target / CATALOGUE_XLSX, lambda p: write_xlsx(catalogue, p))
    return catalogue


def read_catalogue(home: DataHome) -> dict[str, Any]:
    path = share_dir(home) / CATALOGUE_JSON
    if not path.exists():
        return {"title": "台州市污水管网数据共享目录", "generated_at": None, "entries": []}
    return json.loads(path.read_text(encoding="utf-8"))
