"""File writers for the sample: CSV, .xlsx, GeoJSON, zipped Shapefile, HJ 212 logs.

Same seed, same bytes: every container timestamp is fixed (xlsx core properties and zip entry
times, the DBF header date), files are written in a fixed order, and mtimes are set from the
file's delivery date with :func:`set_mtime`.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from pipelines import duck
from pipelines.sample.table import Sheet

FIXED_STAMP = dt.datetime(2025, 6, 30, 9, 0, 0)


def set_mtime(path: Path, when: dt.datetime) -> None:
    ts = when.replace(tzinfo=dt.timezone.utc).timestamp()
    os.utime(path, (ts, ts))


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    return str(v)


# ---------------------------------------------------------------------------------------------
# CSV

def write_csv(path: Path, headers: list[str], sheet: Sheet, encoding: str, blank_style: str = "empty",
              crlf: bool = True) -> None:
    """``blank_style``: "empty" (an empty line) or "commas" (a line of separators only, as Excel
    writes a blank row)."""
    buf = io.StringIO()
    eol = "\r\n" if crlf else "\n"
    writer = csv.writer(buf, lineterminator=eol)
    writer.writerow(headers)
    blank = "" if blank_style == "empty" else "," * (len(headers) - 1)
    blanks = list(sheet.blank_before)
    for pos, row in enumerate(sheet.rows()):
        while blanks and blanks[0] == pos:
            buf.write(blank + eol)
            blanks.pop(0)
        writer.writerow([_text(v) for v in row])
    path.write_bytes(buf.getvalue().encode(encoding))


# ---------------------------------------------------------------------------------------------
# xlsx

_CORE_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def normalise_zip(path: Path, stamp: dt.datetime = FIXED_STAMP) -> None:
    """Rewrite a zip with fixed entry times (openpyxl stamps entries and core.xml with 'now')."""
    with zipfile.ZipFile(path) as src:
        entries = [(info.filename, src.read(info.filename)) for info in src.infolist()]
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    tmp = path.with_suffix(path.suffix + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, data in entries:
            if name == "docProps/core.xml":
                data = _CORE_MODIFIED.sub(rb"\g<1>" + iso + rb"\g<2>", data)
            info = zipfile.ZipInfo(name, date_time=stamp.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, data)
    tmp.replace(path)


def write_xlsx(path: Path, headers: list[str], sheet: Sheet, title: str, remarks: str,
               subtitle: str | None = None, spacer: bool = False, sheet_name: str = "Sheet1") -> int:
    """A bureau spreadsheet: merged title row (and optional merged subtitle row) above the header,
    the data with blank rows, an optional empty spacer and a merged remarks/signature row.
    Returns the 1-based row of the header."""
    wb = Workbook(write_only=True)
    wb.properties.creator = "sewershare sample"
    wb.properties.created = FIXED_STAMP
    wb.properties.modified = FIXED_STAMP
    ws = wb.create_sheet(sheet_name)
    last = get_column_letter(len(headers))
    ws.append([title])
    ws.merged_cells.add(f"A1:{last}1")
    header_row = 2
    if subtitle:
        ws.append([subtitle])
        ws.merged_cells.add(f"A2:{last}2")
        header_row = 3
    ws.append(headers)
    row_no = header_row
    blanks = list(sheet.blank_before)
    for pos, row in enumerate(sheet.rows()):
        while blanks and blanks[0] == pos:
            ws.append([])
            row_no += 1
            blanks.pop(0)
        ws.append(row)
        row_no += 1
    if spacer:
        ws.append([])
        row_no += 1
        sheet.extra_blank_rows += 1
    ws.append([remarks])
    row_no += 1
    ws.merged_cells.add(f"A{row_no}:{last}{row_no}")
    wb.save(path)
    normalise_zip(path)
    return header_row


# ---------------------------------------------------------------------------------------------
# GeoJSON

def json_literals(values: np.ndarray) -> pa.Array:
    """JSON literal text of each cell: null, a number, or a quoted string (our strings never
    need escaping; checked)."""
    if values.dtype.kind == "f":
        arr = pa.array(values, from_pandas=True)
        return pc.fill_null(pc.cast(arr, pa.string()), "null")
    out = []
    for v in values:
        if v is None:
            out.append("null")
        elif isinstance(v, str):
            if '"' in v or "\\" in v:
                raise ValueError(f"unexpected quote in {v!r}")
            out.append('"' + v + '"')
        elif isinstance(v, (float, np.floating)):
            out.append(repr(float(v)))
        else:
            out.append(str(int(v)))
    return pa.array(out, type=pa.string())


def coord_text(values: np.ndarray, decimals: int) -> pa.Array:
    return pc.cast(pa.array(np.round(values, decimals)), pa.string())


def line_geometries(x1, y1, x2, y2, decimals: int) -> pa.Array:
    parts = ['{"type":"LineString","coordinates":[[', coord_text(x1, decimals), ",", coord_text(y1, decimals),
             "],[", coord_text(x2, decimals), ",", coord_text(y2, decimals), "]]}"]
    return _concat(parts, len(x1))


def point_geometries(x, y, decimals: int) -> pa.Array:
    parts = ['{"type":"Point","coordinates":[', coord_text(x, decimals), ",", coord_text(y, decimals), "]}"]
    return _concat(parts, len(x))


def _concat(parts: list, n: int) -> pa.Array:
    arrays = [pa.array([p] * n, type=pa.string()) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*arrays, "")


def write_geojson(path: Path, layer: str, crs: str | None, headers: list[str], sheet: Sheet,
                  block: int = 10_000) -> None:
    """One feature per record, assembled with Arrow string kernels a block of rows at a time (so
    memory does not grow with the district). The sheet's ``geometry`` column holds GeoJSON geometry
    text (None = a feature without geometry); ``headers`` name the other columns, in order."""
    names = [name for name in sheet.names if name != "geometry"]
    order = np.asarray(sheet.order, dtype=np.int64)
    head = '{\n"type": "FeatureCollection",\n"name": "' + layer + '",\n'
    if crs:
        head += '"crs": { "type": "name", "properties": { "name": "urn:ogc:def:crs:' + crs.replace(":", "::") + \
                '" } },\n'
    head += '"features": [\n'
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(head)
        for start in range(0, len(order), block):
            rows = order[start:start + block]
            parts: list = ['{"type":"Feature","properties":{']
            for k, (name, header) in enumerate(zip(names, headers, strict=True)):
                parts.append(("," if k else "") + '"' + header + '":')
                parts.append(json_literals(sheet.cells[name][rows]))
            parts.append('},"geometry":')
            parts.append(pc.fill_null(pa.array(list(sheet.cells["geometry"][rows]), type=pa.string()), "null"))
            parts.append("}")
            if start:
                fh.write(",\n")
            fh.write(",\n".join(_concat(parts, len(rows)).to_pylist()))
        fh.write("\n]\n}\n")


# ---------------------------------------------------------------------------------------------
# Zipped Shapefile (DuckDB spatial → GDAL)

def write_shapefile_zip(path: Path, layer: str, crs: str, headers: list[str], sheet: Sheet,
                        stamp: dt.date, con=None) -> None:
    """Attributes are written as text (DBF); the sheet's ``geometry`` column holds WKT (None = a
    record without geometry)."""
    names = [name for name in sheet.names if name != "geometry"]
    data = {h: pa.array([None if v is None else _text(v) for v in sheet.column(name)], type=pa.string())
            for name, h in zip(names, headers, strict=True)}
    data["__wkt"] = pa.array(list(sheet.column("geometry")), type=pa.string())
    table = pa.table(data)
    tmpdir = Path(tempfile.mkdtemp(prefix="sewershare_shp_"))
    try:
        own = con is None
        con = duck.connect() if own else con
        try:
            con.register("features", table)
            cols = ", ".join(f'"{h}"' for h in headers)
            shp = tmpdir / f"{layer}.shp"
            con.execute(f"COPY (SELECT {cols}, ST_GeomFromText(__wkt) AS geom FROM features) TO '{shp}' "
                        f"(FORMAT GDAL, DRIVER 'ESRI Shapefile', SRS '{crs}', LAYER_CREATION_OPTIONS 'ENCODING=UTF-8')")
            con.unregister("features")
        finally:
            if own:
                con.close()
        dbf = tmpdir / f"{layer}.dbf"
        raw = bytearray(dbf.read_bytes())
        # DBF header bytes 1-3: date of last update (YY since 1900, MM, DD): fix it for same bytes.
        raw[1:4] = bytes([stamp.year - 1900, stamp.month, stamp.day])
        dbf.write_bytes(bytes(raw))
        when = (stamp.year, stamp.month, stamp.day, 9, 0, 0)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
                member = tmpdir / f"{layer}{ext}"
                if member.exists():
                    info = zipfile.ZipInfo(member.name, date_time=when)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.external_attr = 0o644 << 16
                    zf.writestr(info, member.read_bytes())
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
