"""The sample bureau exports at scale 0.01 (issue 2, point 9): files, truth, references, mess."""
import collections
import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import charset_normalizer
import numpy as np
import openpyxl
import pytest

from pipelines import duck
from pipelines.contracts import FEEDS, load_contracts
from pipelines.hj212 import crc_hj212
from pipelines.identifiers import is_valid_credit_code
from pipelines.sample import generate, verify

SEED = 42
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    home = tmp_path_factory.mktemp("sample") / "home"
    truth = generate(home, scale=0.01, seed=SEED, progress=False)
    return home, truth


@pytest.fixture(scope="module")
def reads(sample):
    home, truth = sample
    return {ft["path"]: verify.read_file(home, ft) for ft in truth["files"]}


def files_of(truth, feed):
    return [ft for ft in truth["files"] if ft["feed"] == feed]


def digest(home: Path) -> dict[str, tuple[str, int]]:
    out = {}
    for path in sorted(home.rglob("*")):
        if path.is_file():
            out[path.relative_to(home).as_posix()] = (hashlib.sha256(path.read_bytes()).hexdigest(),
                                                      int(path.stat().st_mtime))
    return out


# ---- reproducibility and the landing contract ------------------------------------------------
def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(sample, tmp_path):
    """Also across processes with another hash seed (no set or dict order leaks into the files)."""
    home, truth = sample
    again = tmp_path / "again"
    code = ("import sys; from pathlib import Path; from pipelines.sample import generate; "
            "generate(Path(sys.argv[1]), scale=0.01, seed=int(sys.argv[2]), progress=False)")
    subprocess.run([sys.executable, "-c", code, str(again), str(SEED)], check=True, cwd=REPO,
                   env={**os.environ, "PYTHONHASHSEED": "12345"})
    assert json.loads((again / "sample_truth.json").read_text(encoding="utf-8")) == truth
    first, second = digest(home), digest(again)
    assert len(first) > 150
    assert first == second
    other = tmp_path / "other"
    generate(other, scale=0.01, seed=SEED + 1, progress=False)
    third = digest(other)
    common = [p for p in first if p in third]
    changed = [p for p in common if third[p][0] != first[p][0]]
    assert len(common) > 100 and len(changed) > 0.9 * len(common)


def test_refuses_a_landing_folder_with_files_unless_forced(sample, tmp_path):
    home = tmp_path / "h"
    target = home / "landing" / "plants"
    target.mkdir(parents=True)
    (target / "mine.csv").write_text("bureau file", encoding="utf-8")
    with pytest.raises(FileExistsError):
        generate(home, scale=0.01, seed=SEED, progress=False)
    assert (target / "mine.csv").exists()
    truth = generate(home, scale=0.01, seed=SEED, progress=False, force=True)
    assert not (target / "mine.csv").exists()
    assert truth == sample[1]


def test_all_eleven_feeds_in_their_folders_and_every_file_in_the_truth(sample):
    home, truth = sample
    assert sorted(p.name for p in (home / "landing").iterdir()) == sorted(FEEDS)
    on_disk = {p.relative_to(home).as_posix() for p in (home / "landing").rglob("*") if p.is_file()}
    assert on_disk == {ft["path"] for ft in truth["files"]}
    for ft in truth["files"]:
        contract = load_contracts()[ft["feed"]]
        assert ft["format"] == contract.format
        assert any(Path(ft["path"]).match(pattern) for pattern in contract.file_patterns), ft["path"]
    assert truth["generator"] == {"version": "1", "scale": 0.01, "seed": SEED}
    for feed in FEEDS:
        assert files_of(truth, feed), feed


# ---- the truth is exact ---------------------------------------------------------------------
def test_truth_matches_what_a_plain_reader_finds_row_by_row(sample):
    """Every listed row fails exactly its (field, rule), every other row passes every rule of its
    contract, and data_rows / blank_rows / header_row are what a plain reader counts."""
    home, truth = sample
    assert verify.verify_home(home, truth) == []


def test_the_truth_covers_every_kind_of_spoil(sample):
    _, truth = sample
    rules = collections.Counter(r["rule"] for ft in truth["files"] for row in ft["invalid_rows"]
                                for r in row["reasons"])
    for rule in ("required", "type", "enum", "range", "pattern", "credit_code", "grade_for_code", "date_order",
                 "duplicate_row", "hj212_frame", "hj212_length", "hj212_crc", "geometry"):
        assert rules[rule] > 0, rule
    for feed in FEEDS:
        files = files_of(truth, feed)
        rows = sum(ft["data_rows"] for ft in files)
        spoiled = sum(len(ft["invalid_rows"]) for ft in files)
        if feed == "plants":
            assert spoiled == 0          # the registry stays clean (everything points at it)
            continue
        assert spoiled > 0, feed
        # a few percent; feeds of a few dozen rows at scale 0.01 still get two or three (a floor)
        assert spoiled / rows < (0.05 if rows > 200 else 0.15), feed
        assert all(len(r["reasons"]) == 1 for ft in files for r in ft["invalid_rows"])
    kinds = collections.Counter(a["kind"] for ft in truth["files"] for a in ft["anomalies"])
    assert kinds["orphan_reference"] > 0 and kinds["repeat_offender"] > 0 and kinds["against_flow"] > 0
    assert kinds["network_gap"] > 0 and kinds["direct_discharge"] > 0


def test_row_count_fields_equal_plain_counts(sample, reads):
    _, truth = sample
    for ft in truth["files"]:
        read = reads[ft["path"]]
        assert len(read.records) == ft["data_rows"], ft["path"]
        assert read.blank_rows == ft["blank_rows"], ft["path"]
    assert sum(ft["blank_rows"] for ft in truth["files"]) > 0


# ---- HJ 212 and credit codes ------------------------------------------------------------------
def test_every_packet_verifies_except_those_listed_as_corrupt(sample, reads):
    _, truth = sample
    registry = {r["inlet_mn"] for r in reads[files_of(truth, "plants")[0]["path"]].records} | \
        {r["outlet_mn"] for r in reads[files_of(truth, "plants")[0]["path"]].records}
    packets = corrupt = 0
    for ft in files_of(truth, "plant_online"):
        listed = {r["row"] for r in ft["invalid_rows"] if r["reasons"][0]["rule"].startswith("hj212_")}
        raw = (sample[0] / ft["path"]).read_bytes()
        assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b"")
        for row, line in enumerate(raw.decode("ascii").split("\r\n")[:-1], start=1):
            m = re.fullmatch(r"##(\d{4})(QN=.*&&)([0-9A-F]{4})", line)
            ok = bool(m) and int(m.group(1)) == len(m.group(2)) and \
                f"{crc_hj212(m.group(2).encode()):04X}" == m.group(3)
            assert ok == (row not in listed), (ft["path"], row)
            packets += 1
            corrupt += not ok
            if ok:
                fields = verify.parse_packet(line)
                assert fields["MN"] in registry
                assert fields["CN"] in ("2061", "2031")
                for code in ("w00000", "w01001", "w01018", "w21003", "w21001", "w21011"):
                    assert f"{code}-Avg" in fields and fields[f"{code}-Flag"] in "NFMSDCTB"
    assert 0 < corrupt < 0.01 * packets


def test_every_credit_code_verifies_except_those_listed(sample, reads):
    _, truth = sample
    checked = bad = 0
    for feed in ("drainage_permits", "discharge_permits", "enforcement"):
        for ft in files_of(truth, feed):
            listed = {r["row"] for r in ft["invalid_rows"] if r["reasons"][0]["rule"] == "credit_code"}
            for row, rec in enumerate(reads[ft["path"]].records, start=1):
                code = rec.get("credit_code")
                if code is None:
                    continue
                checked += 1
                assert is_valid_credit_code(str(code)) == (row not in listed), (ft["path"], row, code)
                bad += row in listed
    assert checked > 300 and bad > 0


# ---- spreadsheets, text encodings, geometry --------------------------------------------------
def test_spreadsheets_open_and_carry_a_merged_title_and_a_remarks_row(sample):
    home, truth = sample
    xlsx = [ft for ft in truth["files"] if ft["format"] == "xlsx"]
    assert {ft["feed"] for ft in xlsx} == {"inspections", "discharge_permits", "enforcement", "upgrade_projects",
                                           "task_progress"}
    subtitles = 0
    for ft in xlsx:
        wb = openpyxl.load_workbook(home / ft["path"])
        ws = wb.worksheets[0]
        header_row = ft["header_row"]
        width = sum(1 for c in ws[header_row] if c.value is not None)
        merged = {str(r) for r in ws.merged_cells.ranges}
        last_col = openpyxl.utils.get_column_letter(width)
        assert f"A1:{last_col}1" in merged, ft["path"]
        assert isinstance(ws["A1"].value, str) and len(ws["A1"].value) > 6
        subtitles += header_row == 3
        last = ws.max_row
        assert re.match(r"(备注|填报人|制表)", ws.cell(last, 1).value), ft["path"]
        assert f"A{last}:{last_col}{last}" in merged
        assert wb.properties.modified == dt.datetime(2025, 6, 30, 9, 0)
    assert subtitles > 0


def test_text_files_come_in_utf8_bom_and_gbk_and_a_detector_reads_them(sample):
    home, truth = sample
    encodings = collections.Counter(ft["encoding"] for ft in truth["files"] if ft["format"] == "csv")
    assert set(encodings) == {"utf-8", "utf-8-sig", "gbk"}
    for ft in truth["files"]:
        if ft["format"] != "csv":
            continue
        raw = (home / ft["path"]).read_bytes()
        best = charset_normalizer.from_bytes(raw).best()
        assert best is not None, ft["path"]
        assert str(best) == raw.decode(ft["encoding"]), ft["path"]
        if ft["encoding"] == "gbk":
            with pytest.raises(UnicodeDecodeError):
                raw.decode("utf-8")


def test_both_coordinate_systems_and_a_shapefile_that_reads_back(sample):
    home, truth = sample
    geo = files_of(truth, "census_pipes") + files_of(truth, "census_manholes")
    assert {ft["crs"] for ft in geo} == {"EPSG:4490", "EPSG:4549"}
    shapefiles = [ft for ft in geo if ft["container"] == "shapefile_zip"]
    assert shapefiles and all(ft["crs"] == "EPSG:4549" for ft in shapefiles)
    con = duck.connect()
    try:
        for ft in geo:
            path = home / ft["path"]
            if path.suffix == ".zip":
                import zipfile
                with zipfile.ZipFile(path) as zf:
                    layer = next(n for n in zf.namelist() if n.endswith(".shp"))
                    assert {Path(n).suffix for n in zf.namelist()} >= {".shp", ".shx", ".dbf", ".prj", ".cpg"}
                source = f"/vsizip/{path}/{layer}"
            else:
                source = str(path)
                member = (json.loads(path.read_text(encoding="utf-8")).get("crs") or {}).get("properties", {})
                assert member.get("name") in (None, "urn:ogc:def:crs:" + ft["crs"].replace(":", "::"))
            src = "EPSG:4490" if ft["crs"] == "EPSG:4490" else "EPSG:4549"
            n, lon_min, lon_max, lat_min, lat_max = con.execute(f"""
                SELECT count(*), min(ST_X(p)), max(ST_X(p)), min(ST_Y(p)), max(ST_Y(p)) FROM (
                  SELECT ST_Transform(ST_StartPoint(geom), '{src}', 'EPSG:4490', always_xy := true) AS p
                  FROM (SELECT CASE WHEN ST_GeometryType(geom) = 'POINT' THEN ST_MakeLine(geom, geom) ELSE geom
                               END AS geom FROM ST_Read('{source}')) WHERE geom IS NOT NULL)""").fetchone()
            assert n == ft["data_rows"] - sum(r["reasons"][0]["rule"] == "geometry" for r in ft["invalid_rows"])
            assert 120.3 < lon_min and lon_max < 121.9 and 27.9 < lat_min and lat_max < 29.4, ft["path"]
    finally:
        con.close()


def test_census_lengths_agree_with_the_geometry(sample):
    """长度 is the surveyed length: within a few per mille of the line, whichever CRS the district used."""
    home, truth = sample
    con = duck.connect()
    try:
        for ft in files_of(truth, "census_pipes"):
            path = home / ft["path"]
            if path.suffix == ".zip":
                continue
            src = ft["crs"]
            doc = json.loads(path.read_text(encoding="utf-8"))
            header = next(h for h in doc["features"][0]["properties"] if verify.header_map("census_pipes").get(h)
                          == "length_m")
            bad = {r["row"] for r in ft["invalid_rows"]}
            lengths = con.execute(f"""SELECT ST_Length(ST_Transform(geom, '{src}', 'EPSG:4549', always_xy := true))
                                      FROM ST_Read('{path}') ORDER BY OGC_FID""").fetchall()
            assert len(lengths) == len(doc["features"])
            for row, (f, (geom_len,)) in enumerate(zip(doc["features"], lengths), start=1):
                value = f["properties"][header]
                if row in bad or value is None or geom_len is None:
                    continue
                assert float(value) == pytest.approx(geom_len, rel=0.01), (ft["path"], row)
    finally:
        con.close()


# ---- consistency across feeds -----------------------------------------------------------------
def _ids(reads, truth, feed, column):
    out = set()
    for ft in files_of(truth, feed):
        out |= {str(r[column]) for r in reads[ft["path"]].records if r.get(column) is not None}
    return out


def _anomalies(ft, field):
    return {a["row"] for a in ft["anomalies"] if a["kind"] == "orphan_reference" and a["field"] == field}


def test_cross_feed_references_resolve_except_listed_orphans(sample, reads):
    _, truth = sample
    segments = _ids(reads, truth, "census_pipes", "segment_id")
    manholes = _ids(reads, truth, "census_manholes", "manhole_id")
    manhole_district = {}
    for ft in files_of(truth, "census_manholes"):
        code = Path(ft["path"]).name[:6]
        for r in reads[ft["path"]].records:
            manhole_district[str(r["manhole_id"])] = code
    plants = reads[files_of(truth, "plants")[0]["path"]].records
    plant_ids = {r["plant_id"] for r in plants}
    checked = collections.Counter()

    def check(feed, column, universe, field=None, split=None):
        for ft in files_of(truth, feed):
            orphans = _anomalies(ft, field or column)
            for row, rec in enumerate(reads[ft["path"]].records, start=1):
                value = rec.get(column)
                if value is None:
                    continue
                values = re.split(r"[,，;；、]", str(value)) if split else [str(value)]
                ok = all(v in universe for v in values)
                assert ok == (row not in orphans), (ft["path"], row, value)
                checked[feed, column] += 1

    check("census_pipes", "start_manhole_id", manholes)
    check("census_pipes", "end_manhole_id", manholes)
    check("inspections", "segment_id", segments)
    check("drainage_permits", "connection_manhole_id", manholes)
    check("misconnections", "manhole_id", manholes)
    check("misconnections", "segment_id", segments)
    check("upgrade_projects", "segment_ids", segments, split=True)
    check("plant_lab", "plant_id", plant_ids)
    check("discharge_permits", "receiving_plant_id", plant_ids)
    assert min(checked.values()) > 0

    # drainage permits connect in their own district
    for ft in files_of(truth, "drainage_permits"):
        code = Path(ft["path"]).name[:6]
        for rec in reads[ft["path"]].records:
            m = rec.get("connection_manhole_id")
            if m in manhole_district:
                assert manhole_district[m] == code
    # plant inlets are census manholes of type 进厂井
    types = {str(r["manhole_id"]): r["manhole_type"] for ft in files_of(truth, "census_manholes")
             for r in reads[ft["path"]].records}
    assert all(types[p["inlet_manhole_id"]] == "进厂井" for p in plants)
    # a discharge permit number embeds its holder's credit code
    for ft in files_of(truth, "discharge_permits"):
        for rec in reads[ft["path"]].records:
            assert str(rec["permit_no"])[:18] == rec["credit_code"]
    # enforcement names permit holders (unpermitted discharge excepted; spoiled codes excepted)
    holders = _ids(reads, truth, "drainage_permits", "credit_code") | \
        _ids(reads, truth, "discharge_permits", "credit_code")
    named = 0
    for ft in files_of(truth, "enforcement"):
        spoiled = {r["row"] for r in ft["invalid_rows"]}
        for row, rec in enumerate(reads[ft["path"]].records, start=1):
            if rec.get("credit_code") and rec.get("violation_type") != "无证排水" and row not in spoiled:
                assert rec["credit_code"] in holders, (ft["path"], row)
                named += 1
    assert named > 20


def test_the_network_traces_to_the_plants(sample, reads):
    """Following 终点井号 as drawn from any segment reaches a plant's inlet manhole, except upstream of
    a segment the census drew against the flow (listed as against_flow) or of a segment the census
    lacks (the pipes into it listed as network_gap)."""
    _, truth = sample
    inlets = {r["inlet_manhole_id"] for r in reads[files_of(truth, "plants")[0]["path"]].records}
    down = {}
    reversed_ends = set()
    for ft in files_of(truth, "census_pipes"):
        rev = {a["row"] for a in ft["anomalies"] if a["kind"] == "against_flow"}
        gap = {a["row"] for a in ft["anomalies"] if a["kind"] == "network_gap"}
        direct = {a["row"] for a in ft["anomalies"] if a["kind"] == "direct_discharge"}
        for row, rec in enumerate(reads[ft["path"]].records, start=1):
            if row in direct:          # an overflow to a river outfall, a branch off the way to the plant
                continue
            if row in rev:
                reversed_ends.add(rec["end_manhole_id"])
                continue
            if row in gap:
                reversed_ends.add(rec["end_manhole_id"])
            down.setdefault(rec["start_manhole_id"], rec["end_manhole_id"])
    starts = list(down)
    reached = blocked = 0
    for node in starts:
        seen = set()
        while node in down and node not in seen:
            seen.add(node)
            node = down[node]
        assert node not in seen, "no cycles"
        if node in inlets:
            reached += 1
        else:
            assert node in reversed_ends, node
            blocked += 1
    assert reached > 0.8 * len(starts) and blocked < 0.2 * len(starts)
    assert len(inlets) == truth["stats"]["plants"]


def test_what_ingestion_loads_traces_to_the_plants_except_behind_recorded_gaps(sample, reads):
    """Drop the rows the truth lists as invalid (ingestion quarantines them), walk the rest downstream
    by manhole ids (against_flow rows in the flow's direction) with a plain dict walk: at least 97% of
    the length outside the recorded network gaps reaches a plant inlet of the registry, the dead ends
    are exactly the recorded gaps (a handful), and no spoiled segment has another one draining into it."""
    home, truth = sample
    traced = verify.trace_census(home, truth, reads)
    city = traced["city"]
    outside_gaps = city["length_m"] - city["gap_length_m"]
    assert city["traced_length_m"] / outside_gaps >= 0.97
    assert traced["cycles"] == 0 and not traced["forks"]
    districts = len(traced["districts"])
    assert districts <= len(traced["gap_manholes"]) <= 5 * districts
    assert set(traced["dead_ends"]) == traced["gap_manholes"]
    assert 0 < city["gap_length_m"] / city["length_m"] < 0.04

    # the spoiled rows are leaves: no census pipe ends where a spoiled one starts, none ends at an inlet
    ends, spoiled = set(), []
    for ft in files_of(truth, "census_pipes"):
        rev = {a["row"] for a in ft["anomalies"] if a["kind"] == "against_flow"}
        bad = {r["row"] for r in ft["invalid_rows"] if r["reasons"][0]["rule"] != "duplicate_row"}
        for row, rec in enumerate(reads[ft["path"]].records, start=1):
            start, end = rec["start_manhole_id"], rec["end_manhole_id"]
            start, end = (end, start) if row in rev else (start, end)
            ends.add(end)
            if row in bad:
                spoiled.append((start, end))
    assert spoiled
    assert not [s for s, _ in spoiled if s in ends]
    assert not [e for _, e in spoiled if e in traced["inlets"]]


def test_projects_list_problem_segments(sample, reads):
    _, truth = sample
    problem = set()
    for ft in files_of(truth, "inspections"):
        bad = {r["row"] for r in ft["invalid_rows"]}
        for row, rec in enumerate(reads[ft["path"]].records, start=1):
            if row in bad or rec.get("defect_code") not in ("PL", "BX", "FS", "CK", "QF", "TJ", "TL", "AJ", "CR",
                                                            "SL"):
                continue
            grade = verify.enum_value(rec["defect_grade"], load_contracts()["inspections"].column("defect_grade"))
            if grade >= 3:
                problem.add(rec["segment_id"])
    listed = 0
    for ft in files_of(truth, "upgrade_projects"):
        orphans = _anomalies(ft, "segment_ids")
        for row, rec in enumerate(reads[ft["path"]].records, start=1):
            if rec.get("segment_ids") and row not in orphans:
                for seg in re.split(r"[,，;；、]", rec["segment_ids"]):
                    assert seg in problem, (ft["path"], row, seg)
                    listed += 1
    assert listed > 10


# ---- corrections ------------------------------------------------------------------------------
def test_corrections_come_later_and_change_existing_records(sample, reads):
    home, truth = sample
    assert {c["feed"] for c in truth["corrections"]} >= {"drainage_permits", "misconnections", "upgrade_projects",
                                                          "plant_lab"}
    by_path = {ft["path"]: ft for ft in truth["files"]}
    for corr in truth["corrections"]:
        contract = load_contracts()[corr["feed"]]
        ft = by_path[corr["file"]]
        assert ft["supersedes"] == corr["keys"] and ft["invalid_rows"] == []
        new = reads[corr["file"]]
        for original in corr["originals"]:
            assert Path(corr["file"]).name > Path(original).name
            assert (home / corr["file"]).stat().st_mtime > (home / original).stat().st_mtime
        old_records = [r for o in corr["originals"] for r in reads[o].records]

        def key(rec):
            return [str(v) if not isinstance(v, dt.date) else v.isoformat()
                    for v in (verify.check_column(rec.get(n), contract.column(n))[1] for n in contract.primary_key)]

        old_by_key = {tuple(key(r)): r for r in old_records}
        assert [key(r) for r in new.records] == corr["keys"]
        for rec in new.records:
            before = old_by_key[tuple(key(rec))]
            typed_new = verify.check_record(contract, rec)[1]
            typed_old = verify.check_record(contract, before)[1]
            assert typed_new != typed_old, "a correction changes something"


# ---- plausibility -----------------------------------------------------------------------------
def test_plausible_plants_influent_and_effluent(sample, reads):
    _, truth = sample
    contract = load_contracts()["plant_lab"]
    bod = collections.defaultdict(list)
    effluent_cod = []
    for ft in files_of(truth, "plant_lab"):
        if "更正" in ft["path"]:
            continue
        bad = {r["row"] for r in ft["invalid_rows"]}
        for row, rec in enumerate(reads[ft["path"]].records, start=1):
            if row in bad:
                continue
            typed = verify.check_record(contract, rec)[1]
            if typed["sampling_point"] == "influent" and typed["bod5_mg_l"] is not None:
                bod[typed["plant_id"]].append(typed["bod5_mg_l"])
            if typed["sampling_point"] == "effluent":
                effluent_cod.append(typed["cod_mg_l"])
    values = np.concatenate([np.array(v) for v in bod.values()])
    assert 0.6 < np.mean((values >= 60) & (values <= 220)) and np.median(values) > 90
    means = {p: np.mean(v) for p, v in bod.items()}
    assert any(m < 100 for m in means.values()) and sum(m >= 100 for m in means.values()) >= len(means) / 2
    cod = np.array(effluent_cod)
    assert np.mean(cod <= 40) > 0.9 and np.any(cod > 40)


def test_plausible_flags_in_the_hourly_packets(sample):
    home, truth = sample
    flags = collections.Counter()
    for ft in files_of(truth, "plant_online"):
        for line in (home / ft["path"]).read_bytes().decode("ascii").split("\r\n")[:-1]:
            if ";CN=2061;" in line and line.endswith(tuple("0123456789ABCDEF")) and "&&" in line[-8:]:
                flags.update(re.findall(r"-Flag=([A-Z])", line))
    total = sum(flags.values())
    non_normal = sum(v for k, v in flags.items() if k != "N") / total
    assert 0.005 < non_normal < 0.06
    assert flags["D"] and flags["M"] and flags["C"]


def test_plausible_registers(sample, reads):
    _, truth = sample
    stats = truth["stats"]
    coverage = {c: d["inspected_length_m"] / d["length_m"] for c, d in stats["districts"].items()}
    assert any(v >= 0.6 for v in coverage.values()) and any(v < 0.6 for v in coverage.values())
    as_of = dt.date(2025, 6, 30)
    contract = load_contracts()["drainage_permits"]
    expired = 0
    for ft in files_of(truth, "drainage_permits"):
        for rec in reads[ft["path"]].records:
            until = verify.check_column(rec.get("valid_until"), contract.column("valid_until"))[1]
            expired += until is not None and until < as_of
    assert expired > 0
    statuses = {verify.enum_value(r["status"], load_contracts()["upgrade_projects"].column("status"))
                for ft in files_of(truth, "upgrade_projects") for r in reads[ft["path"]].records
                if r.get("status") in load_contracts()["upgrade_projects"].column("status").values}
    assert statuses == {"planning", "under_construction", "completed", "accepted", "suspended"}
    pipes = [r for ft in files_of(truth, "census_pipes") for r in reads[ft["path"]].records]
    assert any(str(r.get("pipe_size") or "").count("×") for r in pipes)
    assert any(r.get("section_shape") in ("矩形", "方涵", "箱涵") for r in pipes)
    assert any(r.get("install_year") is None for r in pipes)
    assert any(r.get("data_source") in ("人工估计", "估计") for r in pipes)


def test_the_mess_is_all_there(sample, reads):
    home, truth = sample
    cells = [v for read in reads.values() for rec in read.records for v in rec.values() if v is not None]
    text = [v for v in cells if isinstance(v, str)]
    assert any(re.search("[０-９]", t) for t in text), "full-width digits"
    assert any(re.fullmatch(r"\d{4}-\d{2}-\d{2}", t) for t in text)
    assert any(re.fullmatch(r"\d{4}/\d{1,2}/\d{1,2}", t) for t in text)
    assert any(re.fullmatch(r"20\d{6}", t) for t in text)
    assert any(re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日", t) for t in text)
    assert any(isinstance(v, dt.datetime) for v in cells), "Excel date cells"
    dates = load_contracts()
    serial = 0
    for ft in truth["files"]:
        if ft["format"] != "xlsx":
            continue
        contract = dates[ft["feed"]]
        date_cols = {c.name for c in contract.columns if c.type == "date"}
        serial += sum(1 for rec in reads[ft["path"]].records for k, v in rec.items()
                      if k in date_cols and isinstance(v, int) and 30000 < v < 60000)
    assert serial > 0, "Excel serial numbers"
    for pattern in (r"DN\d+", r"d\d+", r"\d+mm", r"[\d.]+万元"):
        assert any(re.fullmatch(pattern, t) for t in text), pattern
    assert any(t in ("玉环县", "331021") for t in text) and any(t == "331099" or t == "台州湾新区" or t == "湾区"
                                                              for t in text)
    headers = collections.defaultdict(set)
    for read in reads.values():
        for h, c in zip(read.headers, read.columns):
            if c:
                headers[(Path(read.path).parent.name, c)].add(h)
    assert sum(len(v) > 1 for v in headers.values()) > 10, "header spellings differ between files"


# ---- scale -----------------------------------------------------------------------------------
def test_row_counts_grow_linearly_with_scale(sample, tmp_path):
    _, small = sample
    big = generate(tmp_path / "x2", scale=0.02, seed=SEED, progress=False)
    rows_small, rows_big = small["stats"]["data_rows"], big["stats"]["data_rows"]
    for feed in ("census_pipes", "census_manholes", "inspections", "misconnections", "drainage_permits",
                 "discharge_permits", "enforcement", "upgrade_projects"):
        assert 1.7 < rows_big[feed] / rows_small[feed] < 2.3, feed
    # Documented floors: ten plants (one per district) and 31 days of monitoring up to scale 0.0775.
    assert small["stats"]["plants"] == big["stats"]["plants"] == 10
    assert small["stats"]["monitoring_days"] == big["stats"]["monitoring_days"] == 31
    for feed in ("plants", "plant_online", "plant_lab"):
        assert 0.9 < rows_big[feed] / rows_small[feed] < 1.1, feed
    assert rows_small["plant_online"] > 10 * 2 * 31 * 24    # a month of hourly packets at both points
