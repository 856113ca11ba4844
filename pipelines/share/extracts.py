"""Per-recipient extracts: ``extracts/<recipient>/<dataset>/v<N>/`` and a ``current`` link, written after each
passing gate by the sharing asset (downstream of publication).

Each version holds the recipient's form of the dataset — personal fields masked unless the recipient owns them,
and a district government's own rows only — as:
- ``<dataset>.parquet`` (zstd; GeoParquet with its CRS, EPSG:4549, when the mart has a geometry),
- ``manifest.json`` (sha256, rows, schema, the filter and masking applied, 资源代码, publication and source versions),
- ``dictionary.csv`` (数据字典, Chinese),
- ``<dataset>.csv`` and ``<dataset>.xlsx`` for small datasets (Chinese headers, every text cell through
  ``pipelines.publish.safe_text``; geometry is left to the GeoJSON),
- ``<dataset>.geojson`` in EPSG:4490 (CGCS2000 lon/lat) for map users, when the mart has a geometry.

Filters are applied here, when the files are written, never at delivery. Rows are written in a fixed order, so the
same data gives the same bytes: an unchanged dataset keeps its version and checksum (a new version is made only
when the Parquet file's sha256 differs from the current one's). Recipients whose form is identical share one set of
files (hard links). A version directory is complete before the ``current`` link moves to it (atomic rename).

Source: the warehouse marts through a read-only connection (the owners' unmasked fields exist nowhere else), after
checking that the marts still hold what publication published (row counts of ``meta.publication``): the
extracts never get ahead of the gate.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from pipelines.hashing import sha256_file
from pipelines.home import DataHome
from pipelines.publish.policy import PERSONAL_VALUES_SQL, row_filter_sql, select_list
from pipelines.publish.safe_text import install as install_safe_text
from pipelines.publish.safe_text import safe_select, safe_text
from pipelines.share.catalogue import published_schema
from pipelines.share.config import RecipientInfo, load_recipients, load_sharing_config
from pipelines.share.dictionary import MartInfo, mart_infos, unique_headers
from pipelines.share.entitlements import ExtractPolicy, extract_policy, prepared_for

Reader = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]
STORE_CRS = "EPSG:4549"
MAP_CRS = "EPSG:4490"
CURRENT = "current"
STAGING = ".staging"


class ShareError(RuntimeError):
    pass


@dataclass
class ShareResult:
    written: dict[str, list[str]] = field(default_factory=dict)     # recipient -> datasets with a new version
    unchanged: dict[str, list[str]] = field(default_factory=dict)
    variants: int = 0

    @property
    def new_versions(self) -> int:
        return sum(len(v) for v in self.written.values())


def recipient_dir(home: DataHome, recipient: str) -> Path:
    if not re.fullmatch(r"[a-z0-9_]+", recipient):
        raise ValueError(f"bad recipient id {recipient!r}")
    return home.extracts / recipient


def current_manifest(home: DataHome, recipient: str, dataset: str) -> dict[str, Any] | None:
    path = recipient_dir(home, recipient) / dataset / CURRENT / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def versions(home: DataHome, recipient: str, dataset: str) -> list[dict[str, Any]]:
    """Every kept version of a recipient's dataset, newest first (their manifests)."""
    base = recipient_dir(home, recipient) / dataset
    out = []
    for d in base.glob("v*"):
        if d.is_dir() and re.fullmatch(r"v\d+", d.name) and (d / "manifest.json").exists():
            out.append(json.loads((d / "manifest.json").read_text(encoding="utf-8")))
    return sorted(out, key=lambda m: m["version"], reverse=True)


def version_dir(home: DataHome, recipient: str, dataset: str, version: int) -> Path:
    return recipient_dir(home, recipient) / dataset / f"v{int(version)}"


def _source_versions(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    try:
        rows = con.execute("""
            SELECT feed, count(*) AS files, max(loaded_at) AS last_loaded_at,
                   sha256(string_agg(sha256, ',' ORDER BY sha256)) AS files_digest
            FROM audit.file_registry WHERE status = 'loaded' GROUP BY feed""").fetchall()
    except duckdb.CatalogException:  # a marts-only warehouse (test fixtures) has no registry
        return {}
    return {feed: {"files": n, "last_loaded_at": last.isoformat() if last else None, "files_digest": digest}
            for feed, n, last, digest in rows}


def _warehouse_marts(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    types: dict[str, dict[str, str]] = {}
    for table, col, typ in con.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE schema_name = 'marts' "
            "AND database_name = current_database() ORDER BY table_name, column_index").fetchall():
        types.setdefault(table, {})[col] = typ
    return types


def _check_published(con: duckdb.DuckDBPyConnection, record: dict[str, dict[str, Any]], datasets: list[str]) -> None:
    stale = []
    for mart in datasets:
        if mart not in record:
            stale.append(f"{mart}: 未发布 (not in the published copy)")
            continue
        (rows,) = con.execute(f'SELECT count(*) FROM marts."{mart}"').fetchone()
        if rows != record[mart]["row_count"]:
            stale.append(f"{mart}: 仓库 {rows} 行 ≠ 已发布 {record[mart]['row_count']} 行")
    if stale:
        raise ShareError("仓库与已发布版本不一致，未生成共享数据包 (the warehouse moved on since the last passing "
                         "gate; publish first):\n- " + "\n- ".join(stale))


def _leaks(con: duckdb.DuckDBPyConnection, path: Path, skip: set[str]) -> list[str]:
    cols = [c for c, t in con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM '{path}')")
            .fetchall() if t == "VARCHAR" and c not in skip]
    if not cols:
        return []
    counts = con.execute("SELECT " + ", ".join(
        f"count(*) FILTER (WHERE \"{c}\" IN (SELECT v FROM personal_values))" for c in cols)
        + f" FROM '{path}'").fetchone()
    return [f"{path.stem}.{c}: {n}" for c, n in zip(cols, counts) if n]


def _with_bom(path: Path) -> None:
    tmp = path.with_name(path.name + ".bom")
    with open(path, "rb") as src, open(tmp, "wb") as dst:
        dst.write(b"\xef\xbb\xbf")
        shutil.copyfileobj(src, dst)
    os.replace(tmp, path)


def _write_dictionary(path: Path, info: MartInfo, types: dict[str, str], grades: dict[str, str],
                      masked: list[str]) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["字段名", "中文名称", "数据类型", "数据分级", "是否脱敏", "说明"])
        for col, typ in types.items():
            ci = info.columns.get(col)
            w.writerow([safe_text(x) for x in (col, ci.zh if ci else "", typ, grades[col],
                                                "是" if col in masked else "否", ci.description if ci else "")])


@dataclass
class _Variant:
    policy: ExtractPolicy
    dir: Path
    parquet: Path
    sha256: str
    rows: int
    masked: list[str]
    extras_written: bool = False


def _order_by(types: dict[str, str]) -> str:
    cols = [f'"{c}"' for c, t in types.items() if not t.upper().startswith("GEOMETRY")]
    return "ORDER BY " + ", ".join(cols) if cols else ""


def _write_variant(con, staging: Path, mart: str, types: dict[str, str], policy: ExtractPolicy,
                   info: MartInfo) -> _Variant:
    key = hashlib.sha256(policy.key.encode()).hexdigest()[:16]
    vdir = staging / key
    vdir.mkdir(parents=True)
    columns = list(types)
    select, masked = select_list(mart, columns, types, policy.as_recipient("variant"), info.meta,
                                 geometry_crs=STORE_CRS)
    where = row_filter_sql(policy.as_recipient("variant"), columns)
    parquet = vdir / f"{mart}.parquet"
    con.execute(f"COPY (SELECT {select} FROM marts.\"{mart}\" WHERE {where} {_order_by(types)}) TO '{parquet}' "
                f"(FORMAT parquet, COMPRESSION zstd)")
    (rows,) = con.execute(f"SELECT coalesce(sum(num_rows), 0)::BIGINT FROM parquet_file_metadata('{parquet}')"
                          ).fetchone()
    unmasked_cols = {u.split(".", 1)[1] for u in policy.unmasked}
    leaks = _leaks(con, parquet, unmasked_cols)
    if leaks:
        raise ShareError(f"个人信息泄露，未生成共享数据包 (personal data would leak) {policy.key}: {leaks}")
    return _Variant(policy, vdir, parquet, sha256_file(parquet)[0], rows, masked)


def _write_extras(con, v: _Variant, mart: str, types: dict[str, str], info: MartInfo, grades: dict[str, str],
                  small: int) -> None:
    if v.extras_written:
        return
    plain = {c: t for c, t in types.items() if not t.upper().startswith("GEOMETRY")}
    headers = unique_headers([info.columns[c] for c in plain if c in info.columns])
    if v.rows <= small and plain:
        install_safe_text(con)
        select = safe_select(plain, headers)
        src = f"(SELECT {select} FROM '{v.parquet}' {_order_by(plain)})"
        csv_path = v.dir / f"{mart}.csv"
        con.execute(f"COPY {src} TO '{csv_path}' (FORMAT csv, HEADER true)")
        _with_bom(csv_path)  # Excel and WPS read UTF-8 Chinese only with a BOM
        con.execute(f"COPY {src} TO '{v.dir / f'{mart}.xlsx'}' (FORMAT xlsx, HEADER true, SHEET '数据')")
    geometry = [c for c, t in types.items() if t.upper().startswith("GEOMETRY")]
    if geometry:
        g = geometry[0]
        install_safe_text(con)
        # GeoJSON properties are text a person may paste into, or open from, a spreadsheet (QGIS → Excel).
        props = ", ".join(f'safe_text("{c}") AS "{c}"' if t.upper() == "VARCHAR" else f'"{c}"'
                          for c, t in plain.items())
        con.execute(
            f"COPY (SELECT {props}{', ' if props else ''}ST_Transform(\"{g}\"::GEOMETRY, '{STORE_CRS}', '{MAP_CRS}', "
            f"always_xy := true) AS geometry FROM '{v.parquet}' {_order_by(plain)}) TO '{v.dir / f'{mart}.geojson'}' "
            f"WITH (FORMAT GDAL, DRIVER 'GeoJSON', SRS '{MAP_CRS}', LAYER_CREATION_OPTIONS 'WRITE_NAME=NO')")
    _write_dictionary(v.dir / "dictionary.csv", info, types, grades, v.masked)
    v.extras_written = True


FORMATS = {".parquet": "parquet", ".csv": "csv", ".xlsx": "xlsx", ".geojson": "geojson"}


def _publish_version(home: DataHome, recipient: RecipientInfo, mart: str, v: _Variant, manifest_base: dict,
                     keep: int) -> int:
    base = recipient_dir(home, recipient.id) / mart
    base.mkdir(parents=True, exist_ok=True)
    existing = [int(p.name[1:]) for p in base.glob("v*") if re.fullmatch(r"v\d+", p.name)]
    number = max(existing, default=0) + 1
    tmp = base / f".v{number}.{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    files = []
    for f in sorted(v.dir.iterdir()):
        os.link(f, tmp / f.name)
        if f.suffix in FORMATS or f.name == "dictionary.csv":
            files.append({"name": f.name, "format": "dictionary" if f.name == "dictionary.csv" else FORMATS[f.suffix],
                          "bytes": f.stat().st_size, "sha256": f.name == v.parquet.name and v.sha256
                          or sha256_file(f)[0]})
    manifest = {**manifest_base, "recipient": recipient.id, "version": number,
                "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "files": files}
    (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    os.rename(tmp, base / f"v{number}")
    link_tmp = base / f".{CURRENT}.{uuid.uuid4().hex[:8]}"
    os.symlink(f"v{number}", link_tmp)
    os.replace(link_tmp, base / CURRENT)
    older = sorted(existing)
    for old in older[:max(len(older) - (keep - 1), 0)]:  # keep the newest `keep` versions, this one included
        shutil.rmtree(base / f"v{old}", ignore_errors=True)
    return number


def write_recipient_extracts(home: DataHome, reader: Reader, *, recipients: list[str] | None = None,
                             datasets: list[str] | None = None, keep: int = 5) -> ShareResult:
    """Write a new version of every (recipient, dataset) extract whose content changed."""
    config = load_sharing_config()
    people = load_recipients()
    chosen_people = [people[r] for r in (recipients or sorted(people))]
    infos = mart_infos()
    _, record = published_schema(home)
    result = ShareResult()
    staging = home.extracts / STAGING / uuid.uuid4().hex[:12]
    staging.mkdir(parents=True)
    try:
        with reader() as con:
            types = _warehouse_marts(con)
            marts = [m for m in sorted(types) if m in config.datasets and (datasets is None or m in datasets)]
            _check_published(con, record, marts)
            sources = _source_versions(con)
            try:
                con.execute(f"CREATE OR REPLACE TEMP TABLE personal_values AS SELECT v FROM ({PERSONAL_VALUES_SQL})")
            except duckdb.CatalogException:  # no raw feeds in a marts-only warehouse
                con.execute("CREATE OR REPLACE TEMP TABLE personal_values (v VARCHAR)")
            for mart in marts:
                cfg, info = config.datasets[mart], infos.get(mart)
                if info is None:
                    raise ShareError(f"{mart}: dbt manifest 中没有该数据集 (not in the dbt manifest)")
                grades = {c: cfg.column_grades.get(c, cfg.grade) for c in types[mart]}
                variants: dict[str, _Variant] = {}
                for person in chosen_people:
                    if not prepared_for(person, mart):
                        continue
                    policy = extract_policy(person, mart, list(types[mart]), info.meta)
                    if policy.key not in variants:
                        variants[policy.key] = _write_variant(con, staging / mart, mart, types[mart], policy, info)
                    v = variants[policy.key]
                    current = current_manifest(home, person.id, mart)
                    if current and current.get("sha256") == v.sha256:
                        result.unchanged.setdefault(person.id, []).append(mart)
                        continue
                    _write_extras(con, v, mart, types[mart], info, grades, config.small_dataset_rows)
                    manifest_base = {
                        "dataset": mart, "资源代码": config.code(mart), "资源名称": info.zh,
                        "共享类型": cfg.share_type_zh, "数据分级": max(grades.values(), key=("一般", "重要", "核心").index),
                        "file": v.parquet.name, "format": "parquet", "compression": "zstd",
                        "sha256": v.sha256, "bytes": v.parquet.stat().st_size, "row_count": v.rows,
                        "schema": [{"name": c, "中文名称": info.columns[c].zh if c in info.columns else "", "type": t,
                                    "数据分级": grades[c], "masked": c in v.masked} for c, t in types[mart].items()],
                        "row_filter": {k: val.strip("'") for k, val in policy.row_filter.items()},
                        "masked_columns": v.masked,
                        "crs": {"parquet": STORE_CRS, "geojson": MAP_CRS}
                        if any(t.upper().startswith("GEOMETRY") for t in types[mart].values()) else {},
                        "publication": {k: (record.get(mart) or {}).get(k) for k in ("run_id", "generated_at")},
                        "source_versions": {f: sources.get(f) for f in info.feeds},
                    }
                    _publish_version(home, person, mart, v, manifest_base, keep)
                    result.written.setdefault(person.id, []).append(mart)
                result.variants += len(variants)
            con.execute("DROP TABLE IF EXISTS temp.personal_values")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result
