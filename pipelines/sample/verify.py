"""Read the sample back the plain way and check it against its own truth.

An independent, row-by-row reading of every file the generator wrote (csv module, openpyxl, json,
DuckDB ST_Read for the zipped Shapefile, line splitting for HJ 212) and a small reference
implementation of the contract rules. It answers: does every row the truth calls invalid fail
exactly the listed ``(field, rule)``, and does every other row pass every rule? The tests use it;
``python -m pipelines.sample.verify DIR`` prints the differences for a generated home.

This is deliberately simple Python (slow, obvious); the loader in pipelines/ingest is the fast one.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
import sys
import unicodedata
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import openpyxl

from pipelines import duck
from pipelines.contracts import Column, Contract, load_contracts
from pipelines.hj212 import crc_many
from pipelines.home import SOURCES_DIR
from pipelines.identifiers import is_valid_credit_code

REMARK_WORDS = ("备注", "填报人", "制表", "审核人", "说明")
EXCEL_EPOCH = dt.date(1899, 12, 30)


@dataclass
class FileRead:
    path: Path
    headers: list[str]
    columns: list[str | None]           # canonical name per header (None: not in the contract)
    records: list[dict[str, Any]]       # canonical name → raw value (str / number / datetime / None)
    raw_rows: list[tuple]               # the row as sent, for duplicate detection
    blank_rows: int = 0
    header_row: int | None = None
    title_rows: list[list] = field(default_factory=list)
    remarks: list | None = None
    geometry: list[Any] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Reading

@lru_cache(maxsize=None)
def header_map(feed: str) -> dict[str, str]:
    contract = load_contracts()[feed]
    out = {}
    for col in contract.columns:
        for s in col.synonyms or (col.zh,):
            out[s] = col.name
    return out


def _is_blank(values) -> bool:
    return all(v is None or (isinstance(v, str) and v.strip() == "") for v in values)


def read_csv_file(path: Path, feed: str, encoding: str) -> FileRead:
    raw = path.read_bytes()
    if encoding == "utf-8" and raw.startswith(b"\xef\xbb\xbf"):
        raise ValueError(f"{path.name}: utf-8 file starts with a BOM")
    if encoding == "utf-8-sig" and not raw.startswith(b"\xef\xbb\xbf"):
        raise ValueError(f"{path.name}: utf-8-sig file has no BOM")
    text = raw.decode(encoding)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    headers = rows[0]
    hm = header_map(feed)
    columns = [hm.get(h) for h in headers]
    records, raw_rows, blanks = [], [], 0
    for row in rows[1:]:
        if _is_blank(row):
            blanks += 1
            continue
        raw_rows.append(tuple(row))
        records.append({c: (v if v != "" else None) for c, v in zip(columns, row) if c})
    return FileRead(path, headers, columns, records, raw_rows, blanks, header_row=1)


def read_xlsx_file(path: Path, feed: str) -> FileRead:
    wb = openpyxl.load_workbook(path, read_only=False)
    ws = wb.worksheets[0]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    hm = header_map(feed)
    header_idx = None
    for i, row in enumerate(rows[:10]):
        cells = [c for c in row if c is not None]
        if cells and sum(1 for c in cells if str(c).strip() in hm) >= 0.6 * len(cells) and len(cells) >= 3:
            header_idx = i
            break
    if header_idx is None:
        raise ValueError(f"{path.name}: no header row")
    headers = [None if c is None else str(c).strip() for c in rows[header_idx]]
    while headers and headers[-1] is None:
        headers.pop()
    columns = [hm.get(h) if h else None for h in headers]
    body = rows[header_idx + 1:]
    remarks = None
    last = len(body) - 1
    while last >= 0 and _is_blank(body[last]):
        last -= 1
    if last >= 0 and isinstance(body[last][0], str) and body[last][0].startswith(REMARK_WORDS):
        remarks = body[last]
        body = body[:last]
    records, raw_rows, blanks = [], [], 0
    for row in body:
        row = (list(row) + [None] * len(headers))[: len(headers)]
        if _is_blank(row):
            blanks += 1
            continue
        raw_rows.append(tuple(row))
        records.append({c: v for c, v in zip(columns, row) if c})
    fr = FileRead(path, headers, columns, records, raw_rows, blanks, header_row=header_idx + 1,
                  title_rows=rows[:header_idx], remarks=remarks)
    fr.merged = [str(r) for r in ws.merged_cells.ranges]  # type: ignore[attr-defined]
    wb.close()
    return fr


def read_geojson_file(path: Path, feed: str) -> FileRead:
    data = json.loads(path.read_text(encoding="utf-8"))
    features = data["features"]
    headers = list(features[0]["properties"].keys()) if features else []
    hm = header_map(feed)
    columns = [hm.get(h) for h in headers]
    records, raw_rows, geoms = [], [], []
    for f in features:
        props = f["properties"]
        raw_rows.append((json.dumps(props, ensure_ascii=False, sort_keys=True),
                         json.dumps(f["geometry"], sort_keys=True)))
        rec = {hm[h]: v for h, v in props.items() if h in hm}
        rec["geometry"] = f["geometry"]
        records.append(rec)
        geoms.append(f["geometry"])
    fr = FileRead(path, headers, columns, records, raw_rows, 0, geometry=geoms)
    fr.crs_member = (data.get("crs") or {}).get("properties", {}).get("name")  # type: ignore[attr-defined]
    return fr


def read_shapefile_zip(path: Path, feed: str) -> FileRead:
    with zipfile.ZipFile(path) as zf:
        layer = next(n for n in zf.namelist() if n.endswith(".shp"))
    con = duck.connect()
    try:
        rel = con.execute(f"SELECT * EXCLUDE (geom), ST_AsText(geom) AS __wkt FROM ST_Read('/vsizip/{path}/{layer}') "
                          "ORDER BY OGC_FID")
        names = [d[0] for d in rel.description]
        rows = rel.fetchall()
    finally:
        con.close()
    headers = [n for n in names if n not in ("OGC_FID", "__wkt")]
    hm = header_map(feed)
    columns = [hm.get(h) for h in headers]
    records, raw_rows = [], []
    for row in rows:
        values = dict(zip(names, row))
        raw_rows.append(tuple(values[n] for n in names if n != "OGC_FID"))
        rec = {hm[h]: (values[h] if values[h] not in ("",) else None) for h in headers if h in hm}
        rec["geometry"] = values["__wkt"]
        records.append(rec)
    return FileRead(path, headers, columns, records, raw_rows, 0)


def read_file(home: Path, ft: dict) -> FileRead:
    path = home / ft["path"]
    feed = ft["feed"]
    if ft["format"] == "csv":
        return read_csv_file(path, feed, ft["encoding"])
    if ft["format"] == "xlsx":
        return read_xlsx_file(path, feed)
    if ft["format"] == "geo":
        return read_shapefile_zip(path, feed) if path.suffix == ".zip" else read_geojson_file(path, feed)
    if ft["format"] == "hj212":
        lines = path.read_bytes().decode("ascii").split("\r\n")
        assert lines[-1] == ""
        lines = lines[:-1]
        return FileRead(path, [], [], [{"line": ln} for ln in lines], [(ln,) for ln in lines], 0)
    raise ValueError(ft["format"])


# ---------------------------------------------------------------------------------------------
# Normalising one value (a reference implementation of sources/README.md)

class Invalid(Exception):
    pass


def _text(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    t = str(v).strip()
    return t or None


def nfkc(t: str) -> str:
    return unicodedata.normalize("NFKC", t)


@lru_cache(maxsize=None)
def district_lookup() -> dict[str, str]:
    out = {}
    with open(SOURCES_DIR / "reference" / "districts.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out[row["district_code"]] = row["district_code"]
            out[row["name_zh"]] = row["district_code"]
            for alias in row["aliases"].split("|"):
                out[alias] = row["district_code"]
    return out


NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def parse_decimal(v, column: Column) -> float:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        value = float(v)
        return value * _source_factor(column)
    t = nfkc(str(v)).strip().replace(",", "")
    unit_factor = None
    if t.endswith("万元"):
        t, unit_factor = t[:-2], 1e4
    if not NUMBER.fullmatch(t):
        raise Invalid("type")
    value = float(t)
    return value * (unit_factor if unit_factor else _source_factor(column))


def _source_factor(column: Column) -> float:
    return {"万元": 1e4, "万m3/d": 1e4}.get(column.source_unit or "", 1.0)


def parse_date(v) -> dt.date:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if 10000 < v < 80000:
            return EXCEL_EPOCH + dt.timedelta(days=int(v))
        if 19000101 <= v <= 21001231:
            v = str(int(v))
        else:
            raise Invalid("type")
    t = nfkc(str(v)).strip()
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日"):
        try:
            return dt.datetime.strptime(t, fmt).date()
        except ValueError:
            continue
    raise Invalid("type")


PIPE = re.compile(r"(?:DN|d)?(\d+)(?:mm)?", re.IGNORECASE)
BOX = re.compile(r"(\d+)\s*[×xX*]\s*(\d+)")


def parse_pipe_size(v) -> tuple[int, ...]:
    if isinstance(v, (int, float)):
        return (int(v),)
    t = nfkc(str(v)).strip()
    m = BOX.fullmatch(t)
    if m:
        return int(m.group(1)), int(m.group(2))
    m = PIPE.fullmatch(t)
    if m:
        return (int(m.group(1)),)
    raise Invalid("type")


def parse_year(v) -> int:
    if isinstance(v, (int, float)):
        return int(v)
    t = nfkc(str(v)).strip()
    if not re.fullmatch(r"\d{4}", t):
        raise Invalid("type")
    return int(t)


def enum_value(v, column: Column):
    t = _text(v)
    if t in column.values:
        return column.values[t]
    if t is not None and nfkc(t) in column.values:
        return column.values[nfkc(t)]
    raise Invalid("enum")


def check_column(value, column: Column) -> tuple[str | None, Any]:
    """(rule that fails or None, typed value)."""
    t = _text(value)
    if t is None:
        return ("required" if column.required else None), None
    try:
        kind = column.type
        if kind == "decimal" or kind == "integer":
            typed = parse_decimal(value, column)
        elif kind == "date":
            typed = parse_date(value)
        elif kind == "year":
            typed = parse_year(value)
        elif kind == "pipe_size":
            typed = parse_pipe_size(value)
        elif kind == "enum":
            typed = enum_value(value, column)
        elif kind == "district":
            key = nfkc(t)
            if t not in district_lookup() and key not in district_lookup():
                return "enum", None
            typed = district_lookup().get(t) or district_lookup()[key]
        else:
            typed = t
    except Invalid as exc:
        return str(exc), None
    if column.range is not None:
        lo, hi = column.range
        if column.type == "date":
            lo, hi = dt.date.fromisoformat(str(lo)), dt.date.fromisoformat(str(hi))
            values = [typed]
        elif column.type == "pipe_size":
            values = list(typed)
        else:
            values = [typed]
        if any(x < lo or x > hi for x in values):
            return "range", typed
    if column.pattern and not re.fullmatch(column.pattern, nfkc(t)):  # the loader folds full-width text
        return "pattern", typed
    if column.credit_code and not is_valid_credit_code(t):
        return "credit_code", typed
    return None, typed


def check_record(contract: Contract, record: dict[str, Any]) -> tuple[set[tuple[str | None, str]], dict]:
    reasons: set[tuple[str | None, str]] = set()
    typed: dict[str, Any] = {}
    for column in contract.columns:
        if column.type == "geometry":
            if "geometry" in record and record["geometry"] is None:
                reasons.add(("geometry", "geometry"))
            continue
        if column.derived:
            continue
        rule, value = check_column(record.get(column.name), column)
        typed[column.name] = value
        if rule:
            reasons.add((column.name, rule))
    failed = {f for f, _ in reasons}
    for rule in contract.row_rules:
        code, names = rule["rule"], list(rule.get("fields", []))
        if any(n in failed for n in names):
            continue
        vals = [typed.get(n) for n in names]
        if code == "date_order":
            if vals[0] is not None and vals[1] is not None and vals[1] < vals[0]:
                reasons.add((names[-1], code))
        elif code == "permit_credit_code":
            if vals[0] is not None and vals[1] is not None and vals[0][:18] != vals[1]:
                reasons.add((names[-1], code))
        elif code == "grade_for_code":
            grades = {k: set(g) for k, g in rule["grades"].items()}
            if vals[0] is not None and vals[1] is not None and vals[1] not in grades.get(vals[0], {1, 2, 3, 4}):
                reasons.add((names[-1], code))
        elif code == "required" and rule.get("any_of"):
            if all(v is None for v in vals):
                reasons.add((names[-1], code))
        elif code == "required" and rule.get("if_filled"):
            given = [typed.get(g) for g in rule["if_filled"]]
            if all(g is not None for g in given):
                for n, v in zip(names, vals):
                    if v is None:
                        reasons.add((n, code))
    return reasons, typed


# ---------------------------------------------------------------------------------------------
# HJ 212

FRAME = re.compile(r"##(\d{4})(.*)([0-9A-F]{4})")


def check_packets(lines: list[str]) -> list[set[tuple[str | None, str]]]:
    out: list[set] = []
    segments, idx = [], []
    for i, line in enumerate(lines):
        m = FRAME.fullmatch(line)
        if not m or not m.group(2).startswith("QN=") or not m.group(2).endswith("&&"):
            out.append({(None, "hj212_frame")})
            continue
        if int(m.group(1)) != len(m.group(2).encode("ascii")):
            out.append({(None, "hj212_length")})
            continue
        out.append(set())
        segments.append(m.group(2).encode("ascii"))
        idx.append(i)
    crcs = crc_many(segments)
    for i, seg, crc in zip(idx, segments, crcs):
        if f"{int(crc):04X}" != FRAME.fullmatch(lines[i]).group(3):
            out[i] = {(None, "hj212_crc")}
    return out


def parse_packet(line: str) -> dict[str, str]:
    seg = FRAME.fullmatch(line).group(2)
    head, cp = seg.split(";CP=&&", 1)
    fields = dict(kv.split("=", 1) for kv in head.split(";"))
    for item in cp.rstrip("&").split(";"):
        for kv in item.split(","):
            k, v = kv.split("=", 1)
            fields[k] = v
    return fields


# ---------------------------------------------------------------------------------------------
# The whole home

def expected_reasons(ft: dict) -> dict[int, set[tuple[str | None, str]]]:
    return {r["row"]: {(x["field"], x["rule"]) for x in r["reasons"]} for r in ft["invalid_rows"]}


def verify_file(home: Path, ft: dict) -> list[str]:
    """Differences between one file and its truth entry (empty when they agree)."""
    contract = load_contracts()[ft["feed"]]
    read = read_file(home, ft)
    problems = []
    if len(read.records) != ft["data_rows"]:
        problems.append(f"{ft['path']}: {len(read.records)} records read, truth says {ft['data_rows']}")
    if read.blank_rows != ft["blank_rows"]:
        problems.append(f"{ft['path']}: {read.blank_rows} blank rows read, truth says {ft['blank_rows']}")
    if ft.get("header_row") and read.header_row != ft["header_row"]:
        problems.append(f"{ft['path']}: header on row {read.header_row}, truth says {ft['header_row']}")
    expected = expected_reasons(ft)
    if ft["format"] == "hj212":
        found = check_packets([r["line"] for r in read.records])
    else:
        found = [check_record(contract, r)[0] for r in read.records]
    seen: dict[tuple, int] = {}
    keys: dict[tuple, int] = {}
    for row, (reasons, raw) in enumerate(zip(found, read.raw_rows), start=1):
        if raw in seen:
            reasons = {(None, "duplicate_row")}
        else:
            seen[raw] = row
            if not reasons and ft["format"] != "hj212":
                rec = read.records[row - 1]
                key = tuple(_key_part(rec, contract.column(n)) for n in contract.primary_key)
                if key in keys:
                    reasons = {(None, "duplicate_key")}
                keys.setdefault(key, row)
        want = expected.get(row, set())
        if reasons != want:
            problems.append(f"{ft['path']} row {row}: found {sorted(reasons, key=str)}, truth {sorted(want, key=str)}")
    return problems


def _key_part(rec: dict, column: Column):
    return check_column(rec.get(column.name), column)[1]


def verify_home(home: Path, truth: dict | None = None) -> list[str]:
    truth = truth or json.loads((home / "sample_truth.json").read_text(encoding="utf-8"))
    problems: list[str] = []
    for ft in truth["files"]:
        problems += verify_file(home, ft)
    return problems


# ---------------------------------------------------------------------------------------------
# Tracing the census the plain way

def _plain_length(geometry: Any, crs: str | None) -> float:
    """Length of a two-or-more-vertex line from GeoJSON coordinates or Shapefile WKT; lon/lat by a
    local equirectangular scale (good to a fraction of a percent over a sewer segment)."""
    if isinstance(geometry, dict):
        pts = [(float(x), float(y)) for x, y, *_ in geometry["coordinates"]]
    else:
        pts = [tuple(float(v) for v in p.split()[:2]) for p in re.sub(r"^[A-Z ]*\(|\)$", "", geometry).split(",")]
    total = 0.0
    for (x1, y1), (x2, y2) in zip(pts, pts[1:]):
        if crs == "EPSG:4490":
            kx = 111_320.0 * math.cos(math.radians((y1 + y2) / 2))
            total += math.hypot((x2 - x1) * kx, (y2 - y1) * 110_574.0)
        else:
            total += math.hypot(x2 - x1, y2 - y1)
    return total


def trace_census(home: Path, truth: dict, reads: dict[str, FileRead] | None = None) -> dict[str, Any]:
    """Follow every census segment that ingestion would load (rows the truth lists as invalid,
    duplicates included, are dropped) downstream by its manhole ids, manhole to manhole, until a plant
    inlet (the registry's 进厂检查井编号) or a manhole no loaded segment leaves (a dead end). Segments
    the truth lists as ``against_flow`` are walked in the flow's direction (what a tracer that orients the
    network does). ``direct_discharge`` pipes (overflows from a sewage manhole to a river outfall) are
    branches off the walk: left out. A plain dict walk, independent of the dbt models.

    Returns totals per district code and city-wide: ``segments``, ``traced_segments``, ``gap_segments``
    (stranded behind a recorded ``network_gap``), the same as ``length_m``, ``traced_length_m``,
    ``gap_length_m``, plus ``dead_ends`` (manhole → stranded
    length), ``gap_manholes`` (the end manholes of ``network_gap`` rows), ``cycles`` and ``forks``
    (manholes that more than one loaded segment leaves)."""
    reads = reads if reads is not None else {}
    files = {ft["feed"]: [] for ft in truth["files"]}
    for ft in truth["files"]:
        files[ft["feed"]].append(ft)

    def read(ft: dict) -> FileRead:
        if ft["path"] not in reads:
            reads[ft["path"]] = read_file(home, ft)
        return reads[ft["path"]]

    inlets = {str(r["inlet_manhole_id"]) for ft in files["plants"] for r in read(ft).records}
    length_column = load_contracts()["census_pipes"].column("length_m")
    segments = []                      # (district, start, end, length)
    gap_manholes: set[str] = set()
    for ft in files["census_pipes"]:
        district = Path(ft["path"]).name[:6]
        invalid = {r["row"] for r in ft["invalid_rows"]}
        reversed_rows = {a["row"] for a in ft["anomalies"] if a["kind"] == "against_flow"}
        gap_rows = {a["row"] for a in ft["anomalies"] if a["kind"] == "network_gap"}
        direct_rows = {a["row"] for a in ft["anomalies"] if a["kind"] == "direct_discharge"}
        for row, rec in enumerate(read(ft).records, start=1):
            if row in invalid or row in direct_rows:
                continue
            start, end = str(rec["start_manhole_id"]), str(rec["end_manhole_id"])
            if row in reversed_rows:
                start, end = end, start
            if row in gap_rows:
                gap_manholes.add(end)
            length = check_column(rec.get("length_m"), length_column)[1]
            if length is None:
                length = _plain_length(rec["geometry"], ft["crs"])
            segments.append((district, start, end, float(length)))

    down: dict[str, str] = {}
    forks: set[str] = set()
    for _, start, end, _ in segments:
        if start in down and down[start] != end:
            forks.add(start)
        down.setdefault(start, end)
    # where the walk from each manhole ends: an inlet, a dead end, or None inside a cycle (memoised)
    outcome: dict[str, str | None] = {}
    cycles = 0
    for first in down:
        path, on_path, node = [], set(), first
        while node not in outcome:
            if node in inlets or node not in down:
                outcome[node] = node
                break
            if node in on_path:
                cycles += 1
                for p in path:
                    outcome[p] = None
                break
            path.append(node)
            on_path.add(node)
            node = down[node]
        end_of_walk = outcome[node]
        for p in path:
            outcome.setdefault(p, end_of_walk)

    def blank() -> dict[str, float]:
        return {"segments": 0, "traced_segments": 0, "gap_segments": 0, "length_m": 0.0, "traced_length_m": 0.0,
                "gap_length_m": 0.0}

    by_district: dict[str, dict[str, float]] = {}
    city = blank()
    dead_ends: dict[str, float] = {}
    for district, _, end, length in segments:
        reached = outcome.get(end, end)     # an end manhole no segment leaves is its own walk's end
        for acc in (by_district.setdefault(district, blank()), city):
            acc["segments"] += 1
            acc["length_m"] += length
            if reached is not None and reached in inlets:
                acc["traced_segments"] += 1
                acc["traced_length_m"] += length
            elif reached in gap_manholes:
                acc["gap_segments"] += 1
                acc["gap_length_m"] += length
        if reached is not None and reached not in inlets:
            dead_ends[reached] = dead_ends.get(reached, 0.0) + length
    return {"city": city, "districts": by_district, "dead_ends": dead_ends, "gap_manholes": gap_manholes,
            "cycles": cycles, "forks": forks, "inlets": inlets}


if __name__ == "__main__":
    home = Path(sys.argv[1])
    issues = verify_home(home)
    for line in issues[:200]:
        print(line)
    print(f"{len(issues)} differences")
    sys.exit(1 if issues else 0)
