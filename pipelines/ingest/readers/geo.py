"""Census GIS exports: GeoJSON or a zipped Shapefile, read with ST_Read (GDAL); one feature = one record.

The coordinate system comes from the file (GeoJSON ``crs`` member, Shapefile ``.prj``) and is checked
against the coordinates: a file without a CRS, or declaring WGS 84 / a geographic CRS while carrying
Gauss-Krüger metres (or the reverse), is decided by its coordinates (lon/lat within ±180/±90 → EPSG:4490;
eastings of 100 km+ and northings of 1000 km+ → EPSG:4549). A declared EPSG:4550 (CM 123°E) is taken
as declared. Geometry is stored in the contract's ``store_crs`` (EPSG:4549, easting/northing, metres).
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

import duckdb

from pipelines.contracts import Contract
from pipelines.ingest.headers import map_headers, missing_columns, missing_message
from pipelines.ingest.normalise import sql_ident, sql_str
from pipelines.ingest.readers import Extract
from pipelines.ingest.readers.errors import UnreadableFile, first_line

GEOGRAPHIC = {"4490", "4326", "4610", "4214"}   # lon/lat systems; CGCS2000 ≈ WGS 84 at the cm level
# Gauss-Krüger metres: 4549 (CM 120°E, the mainland) and 4550 (CM 123°E, islands east of 121.5°E). Their
# extents overlap, so a file without a CRS in metres is taken as 4549; a 4550 file must declare itself.
PROJECTED = {"4549", "4550"}
SKIP_COLUMNS = {"ogc_fid", "geom", "fid"}


def _gdal_path(path: Path) -> str:
    if path.suffix.lower() != ".zip":
        return str(path)
    try:
        with zipfile.ZipFile(path) as zf:
            shapes = [n for n in zf.namelist() if n.lower().endswith(".shp") and not n.startswith("__MACOSX")]
    except zipfile.BadZipFile as exc:
        raise UnreadableFile("zip 文件已损坏或不完整", f"the .zip is corrupt or truncated: {exc}") from exc
    if len(shapes) != 1:
        raise UnreadableFile(f"zip 中应恰有一个 .shp 图层（实有 {len(shapes)} 个）",
                             f"the zip must hold exactly one .shp layer (found {len(shapes)})")
    return f"/vsizip/{path}/{shapes[0]}"


def _declared_crs(geometry_type: str) -> str | None:
    """The CRS ST_Read attaches to the geometry column, `GEOMETRY('EPSG:4549')` → "4549".

    (Read from the column type rather than ST_Read_Meta, which crashes the process on a malformed
    GeoJSON in this spatial build.)"""
    match = re.search(r"GEOMETRY\('(.*)'\)", geometry_type, flags=re.S)
    if not match:
        return None
    crs = match.group(1)
    epsg = re.fullmatch(r"EPSG:(\d+)", crs)
    if epsg:
        return epsg.group(1)
    if crs.upper() in ("OGC:CRS84", "CRS84"):
        return "4326"
    return "unknown:" + crs[:60]


def _crs_from_extent(xmin, xmax, ymin, ymax) -> str | None:
    if xmin is None:
        return None
    if -180 <= xmin and xmax <= 180 and -90 <= ymin and ymax <= 90:
        return "4490"
    if 100_000 <= xmin and xmax <= 900_000 and 1_000_000 <= ymin and ymax <= 10_000_000:
        return "4549"
    return None


def _has_nul(path: Path) -> bool:
    with open(path, "rb") as fh:
        return any(b"\x00" in block for block in iter(lambda: fh.read(1 << 20), b""))


def read(con: duckdb.DuckDBPyConnection, contract: Contract, path: Path, workdir: Path,
         name: str = "_ingest_src") -> Extract:
    gdal_path = _gdal_path(path)
    if gdal_path == str(path) and _has_nul(path):
        # JSON text holds no NUL byte (RFC 8259 §7: control characters must be escaped); GDAL would skip it.
        raise UnreadableFile("GeoJSON 中含 NUL 字节（文件损坏或不是文本）",
                             "NUL bytes in the GeoJSON (corrupt, or not text; RFC 8259 allows none)")
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name}_read AS SELECT * FROM ST_Read({sql_str(gdal_path)})")
    except duckdb.Error as exc:
        raise UnreadableFile("GIS 文件无法解析（GeoJSON/Shapefile 格式错误或不完整）",
                             f"cannot parse the GIS file (malformed or truncated GeoJSON/Shapefile): "
                             f"{first_line(exc)}") from exc
    described = con.execute(f"DESCRIBE {name}_read").fetchall()
    names = [r[0] for r in described]
    geom_col, geom_type = next(((n, str(t)) for n, t, *_ in described if str(t).upper().startswith("GEOMETRY")),
                               (None, ""))
    declared = _declared_crs(geom_type)
    props = [n for n in names if n.lower() not in SKIP_COLUMNS and n != geom_col]
    columns = [f"c{i}" for i in range(len(props))]
    geom_sql = f"{sql_ident(geom_col)}::GEOMETRY" if geom_col else "NULL::GEOMETRY"
    select = ", ".join([f"CAST({sql_ident(p)} AS VARCHAR) AS {c}" for p, c in zip(props, columns)]
                       + [f"ST_Force2D({geom_sql}) AS _geom"])
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {name} AS
        SELECT rowid + 1 AS _source_row, rowid AS _phys, {select} FROM {name}_read ORDER BY rowid
    """)
    con.execute(f"DROP TABLE {name}_read")
    # A coordinate that is NaN or infinite (JSON NaN/Infinity, 1e999) is no position: that feature's geometry
    # is dropped, so the record is quarantined by the geometry rule, and the extent below is taken over the
    # finite coordinates only (a NaN otherwise made the file "cannot tell the coordinate system").
    nonfinite = (f"regexp_matches(ST_AsText(_geom), '(?i)nan|inf')")
    con.execute(f"UPDATE {name} SET _geom = NULL WHERE _geom IS NOT NULL AND {nonfinite}")

    extent = con.execute(f"""SELECT min(ST_XMin(_geom)), max(ST_XMax(_geom)), min(ST_YMin(_geom)),
                                    max(ST_YMax(_geom)) FROM {name}""").fetchone()
    inferred = _crs_from_extent(*extent)
    if declared is None or declared.startswith("unknown") or declared == "4326":
        # No CRS, a .prj without an EPSG code, or the GeoJSON default (WGS 84): the coordinates decide.
        source_crs = inferred
    elif (declared in GEOGRAPHIC and inferred == "4549") or (declared in PROJECTED and inferred == "4490"):
        source_crs = inferred
    else:
        source_crs = declared
    accepted = {c.split(":")[-1] for c in contract.crs}
    store = (contract.store_crs or "EPSG:4549").split(":")[-1]
    if source_crs is None and extent[0] is not None:
        raise UnreadableFile("无法判断坐标系（文件未声明，坐标范围也不符合 EPSG:4490/4549）",
                             "cannot tell the coordinate system (none declared, coordinates fit neither "
                             "EPSG:4490 nor EPSG:4549)")
    if source_crs is not None and source_crs not in accepted:
        raise UnreadableFile(f"不接受的坐标系 EPSG:{source_crs}（应为 {'、'.join(contract.crs)}）",
                             f"coordinate system EPSG:{source_crs} is not accepted ({', '.join(contract.crs)})")
    if source_crs is None or source_crs == store:
        geometry = "_geom"
    else:
        geometry = f"ST_Transform(_geom, 'EPSG:{source_crs}', 'EPSG:{store}', always_xy := true)"

    mapping = map_headers(contract, props)
    fatal, absent = missing_columns(contract, mapping)
    rows_read = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
    if fatal and rows_read:
        # (A collection without features has no properties to name its columns: like a CSV holding only its
        # header row, it is a delivery of nothing, loaded with 0 records.)
        raise UnreadableFile(*missing_message(fatal, props))
    return Extract(
        table=name, source_table=name, raw_columns=columns, raw_headers=props,
        fields={name: columns[pos] for name, pos in mapping.positions.items()},
        headers=dict(mapping.headers), rows_read=rows_read,
        crs=f"EPSG:{source_crs}" if source_crs else None, geometry=geometry,
        temp_tables=[name, f"{name}_read"],
        header_variants=dict(mapping.variants), missing_columns=[c.name for c in absent],
        unmatched_headers=[h for _, h in mapping.unmatched],
    )
