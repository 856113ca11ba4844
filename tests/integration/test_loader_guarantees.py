"""The loader keeps every row rule of the contracts: a record that breaks one never reaches raw as broken.

A rule of an identity or structural field (or a whole-record rule) quarantines the record; a rule of a
descriptive field (issue 8) keeps it, the field typed NULL (or the enum's ``other``), the text as sent in
``_unmapped`` and a finding in audit.file_findings. Either way no value breaking a rule is in raw.

This is the proof that made the raw great-expectations suites (expectations/raw/*, generated from the
contracts) and the Python key checks redundant: the rules have one home, the contract, enforced by the loader.

Property-style: for each feed, a valid record is taken from the sample generator's files (the real formats:
CSV, xlsx, GeoJSON, HJ 212 logs), and for every rule its contract states, records that break exactly that rule
are derived from the contract (tests/support/contract_rules.py, written from sources/README.md, not from the
loader) and written into one file of the feed's format, among valid records under keys of their own. The real
loader loads the file into a real warehouse; then every broken record is in quarantine with the reason the rule
names, and raw holds exactly the valid records. A rule added to a contract brings its own broken records along,
and the loader, the dbt sources and the Dagster assets follow it with no other file edited.
"""
from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml

from pipelines import duck
from pipelines.contracts import Contract, load_contracts
from pipelines.home import SOURCES_DIR, DataHome
from pipelines.ingest.loader import ingest_feed
from pipelines.sample import generate
from pipelines.transform import sources
from tests.fixtures.ingest_files import write_csv, write_geojson, write_lines, write_xlsx
from tests.support import contract_rules as rules
from tests.support import sample_oracle as oracle

VALID_PER_BROKEN = 9   # mostly valid files, as bureaus send them: no per-file loss bound is tripped


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, dict]:
    home = tmp_path_factory.mktemp("guarantees_sample")
    return home, generate(home, scale=0.01, seed=11, progress=False)


def _platform_file(sample, contract: Contract) -> dict | None:
    """A feed the sample does not write, because no bureau delivers it on a cadence, is written by a command of
    the platform: its file as that command writes it, in the sample's truth format."""
    home, _ = sample
    if contract.feed != "alert_acks":
        return None
    from pipelines.report.acks import write_acknowledgement

    path = write_acknowledgement(DataHome(home), ["network_gap|JJ-M001"], by="市建设局", on="2025-06-30",
                                 action="已派员核查")
    return {"path": path.relative_to(home).as_posix(), "feed": contract.feed, "format": "csv",
            "encoding": "utf-8-sig", "invalid_rows": []}


def base_record(sample, contract: Contract):
    """A valid record of the feed as the generator (or the platform's command) wrote it: (file truth, the file
    read plainly, its index)."""
    home, truth = sample
    platform = _platform_file(sample, contract)
    for ft in ([platform] if platform else truth["files"]):
        if ft["feed"] != contract.feed or (ft["format"] == "geo" and not ft["path"].endswith(".geojson")):
            continue
        invalid = {r["row"] for r in ft["invalid_rows"]}
        read = oracle.read_file(home, ft)
        for i, record in enumerate(read.records):
            if i + 1 in invalid:
                continue
            if contract.format == "hj212":
                if oracle.parse_packet(record["line"]).get("CN") == "2061":
                    return ft, read, i
            elif not oracle.check_record(contract, record)[0]:
                return ft, read, i
    raise AssertionError(f"{contract.feed}: no valid record in the sample")


def _shift(coords, dx: float, dy: float):
    if isinstance(coords[0], (int, float)):
        return [coords[0] + dx, coords[1] + dy]
    return [_shift(c, dx, dy) for c in coords]


def _far(geometry: dict, crs: str | None) -> list:
    """The geometry moved far outside Taizhou: 30° west in degrees, 5000 km east in metres."""
    geographic = crs is not None and "4490" in crs
    return _shift(geometry["coordinates"], -30.0 if geographic else 5_000_000.0, 0.0)


def build_file(home: DataHome, contract: Contract, sample) -> tuple[dict[int, tuple[str, tuple]], set[int]]:
    """Write the feed's test file into landing: per case, valid records under keys of their own, then the
    broken one. Returns {source row: (case, expected reason)} and the source rows of the valid records."""
    ft, read, index = base_record(sample, contract)
    expected: dict[int, tuple[str, tuple]] = {}
    valid: set[int] = set()
    key = 0
    if contract.format == "hj212":
        line = read.records[index]["line"]
        lines: list[str] = []
        for name, breaks, reason in rules.packet_cases(contract) + [
                ("duplicate_row", None, (None, "duplicate_row")), ("duplicate_key", None, (None, "duplicate_key"))]:
            for _ in range(VALID_PER_BROKEN):
                key += 1
                lines.append(rules.packet_time(line, key))
                valid.add(len(lines))
            if name == "duplicate_row":
                lines.append(lines[-1])
            elif name == "duplicate_key":
                lines.append(rules.with_fields(lines[-1], QN="20990101000000000"))
            else:
                key += 1
                lines.append(breaks(rules.packet_time(line, key)))
            expected[len(lines)] = (name, reason)
        write_lines(home.landing_for(contract.feed) / "guarantees.log", [ln + "\r\n" for ln in lines])
        return expected, valid

    base = dict(read.records[index])
    headers, columns = list(read.headers), list(read.columns)
    for c in contract.columns:  # a column this file left out still gets its broken records
        if c.name not in columns and c.type != "geometry" and not c.derived:
            headers.append(c.header)
            columns.append(c.name)
    records: list[dict] = []
    for case in rules.cases(contract, base):
        for _ in range(VALID_PER_BROKEN):
            key += 1
            records.append(rules.vary_key(contract, base, key))
            valid.add(len(records))
        if case.copy == "row":
            broken = dict(records[-1])
        elif case.copy == "key":
            free = rules._free_text(contract)
            broken = {**records[-1], free: f"{records[-1].get(free) or ''}（更正）"}
        else:
            key += 1
            broken = {**rules.vary_key(contract, base, key), **case.changes}
        records.append(broken)
        expected[len(records)] = (case.name, case.expect)

    folder = home.landing_for(contract.feed)
    if contract.format == "geo":
        crs = getattr(read, "crs_member", None)
        crs = crs.split("crs:")[-1].replace("::", ":") if crs else None
        kind = base["geometry"]["type"]
        features = []
        for rec in records:
            geometry = rec.get("geometry")
            coords = None if geometry is None else _far(base["geometry"], crs) if geometry == "far" \
                else geometry["coordinates"]
            features.append(({h: rec.get(c) for h, c in zip(headers, columns) if c and c != "geometry"}, coords))
        write_geojson(folder / "guarantees.geojson", features, crs, kind=kind)
    else:
        rows = [[rec.get(c) if c else None for c in columns] for rec in records]
        if contract.format == "csv":
            text = [["" if v is None else v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else str(v)
                     for v in row] for row in rows]
            write_csv(folder / "guarantees.csv", [headers, *text], encoding=ft["encoding"])
        else:
            write_xlsx(folder / "guarantees.xlsx", headers, rows)
    return expected, valid


def load(home: DataHome, contract: Contract, kept_fields: dict[int, str] | None = None
         ) -> tuple[dict[int, set], set[int], dict[int, tuple], dict[tuple, int]]:
    """Run the real loader; the reasons of each quarantined record, the source rows that reached raw, for the
    rows of ``kept_fields`` (source row → field) the stored values of the field and its kept text, and the
    file's findings ((field, kind, rule) → records)."""
    con = duck.connect(home.warehouse)
    try:
        result = ingest_feed(contract, home, con, "guarantees", strict=False)
        assert [f.status for f in result.files] == ["loaded"], [(f.file_name, f.status, f.error) for f in result.files]
        quarantined = {row: {(r["field"], r["rule"]) for r in reasons} for row, reasons in con.execute(
            f"SELECT _source_row, reasons FROM quarantine.{contract.feed}").fetchall()}
        loaded = {r[0] for r in con.execute(f"SELECT _source_row FROM raw.{contract.feed}").fetchall()}
        stored = {}
        for row, name in (kept_fields or {}).items():
            column = contract.column(name)
            outputs = list(rules.PIPE_SIZE_COLUMNS) if column.type == "pipe_size" else [name]
            got = con.execute(f"SELECT {', '.join(outputs)}, _unmapped['{name}'] FROM raw.{contract.feed} "
                              "WHERE _source_row = ?", [row]).fetchall()
            stored[row] = tuple(got[0]) if got else None
        findings = {(f, k, r): n for f, k, r, n in con.execute(
            "SELECT field, kind, rule, sum(count) FROM audit.file_findings WHERE feed = ? GROUP BY ALL",
            [contract.feed]).fetchall()}
    finally:
        con.close()
    return quarantined, loaded, stored, findings


def assert_guaranteed(home: DataHome, contract: Contract, sample) -> dict[int, tuple[str, tuple]]:
    expected, valid = build_file(home, contract, sample)
    strict = {row: case for row, case in expected.items() if rules.quarantines(contract, case[1])}
    kept = {row: case for row, case in expected.items() if row not in strict}
    quarantined, loaded, stored, findings = load(home, contract, {row: reason[0] for row, (_, reason) in kept.items()})
    missed = {name: (reason, quarantined.get(row)) for row, (name, reason) in strict.items()
              if reason not in quarantined.get(row, set())}
    assert not missed, f"{contract.feed}: broken records not quarantined for their rule: {missed}"
    assert loaded <= valid | set(kept), \
        f"{contract.feed}: raw holds {sorted(loaded - valid - set(kept))[:10]} beyond the valid and kept records"
    assert valid <= loaded, f"{contract.feed}: valid records quarantined: " + str(
        {row: quarantined.get(row) for row in sorted(valid - loaded)[:5]})
    assert set(quarantined) == set(strict)
    # a descriptive failure keeps its record: the field stored NULL (or the enum's declared `other` code), the
    # text as sent kept in _unmapped (an empty cell has none), and the file's findings count it
    wrong = {}
    for row, (name, (field, rule)) in kept.items():
        column = contract.column(field)
        instead = column.other if column.type == "enum" and rule != "required" else None
        *values, text = stored[row] if stored.get(row) is not None else (object(), object())
        if stored.get(row) is None or any(v != instead for v in values) or ((text is None) != (rule == "required")):
            wrong[name] = stored.get(row)
    assert not wrong, f"{contract.feed}: kept records not stored as NULL/other with their text: {wrong}"
    per_reason = collections.Counter((f, rules.finding_kind(r), r) for _, (f, r) in kept.values())
    short = {k: (n, findings.get(k, 0)) for k, n in per_reason.items() if findings.get(k, 0) < n}
    assert not short, f"{contract.feed}: descriptive failures without their finding (expected, found): {short}"
    return expected


@pytest.mark.parametrize("feed", sorted(load_contracts()))
def test_no_record_that_breaks_a_contract_rule_reaches_raw(feed, sample, tmp_path):
    contract = load_contracts()[feed]
    home = DataHome(tmp_path / "home").ensure()
    expected = assert_guaranteed(home, contract, sample)
    # every rule the contract states had its broken records (the cases are derived from it)
    tested = {reason for _, reason in expected.values()}
    for c in contract.columns:
        if c.required and not c.derived and c.type != "geometry":
            assert (c.name, "required") in tested
        if c.range is not None:
            assert (c.name, "range") in tested
        if c.type in ("enum", "district"):
            assert (c.name, "enum") in tested
    assert {(r["fields"][-1], r["rule"]) for r in contract.row_rules} <= tested
    assert (None, "duplicate_row") in tested


def test_adding_a_rule_to_a_contract_changes_one_file(sample, tmp_path):
    """A range added to one column of a copy of the contracts (plants.commissioned_on, which has none): the loader
    quarantines what breaks it, the dbt sources and the Dagster assets follow, and no other file is edited."""
    copy = tmp_path / "sources"
    shutil.copytree(SOURCES_DIR, copy)
    path = copy / "plants.yml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    column = next(c for c in raw["columns"] if c["name"] == "commissioned_on")
    assert "range" not in column
    column["range"] = ["1990-01-01", "2026-12-31"]
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    changed = load_contracts(copy)["plants"]
    assert changed.column("commissioned_on").range == ("1990-01-01", "2026-12-31")

    # the loader: the new rule's broken records are derived and handled like every other rule's
    expected = assert_guaranteed(DataHome(tmp_path / "new").ensure(), changed, sample)
    assert {name for name, _ in expected.values()} >= {"commissioned_on:range:below", "commissioned_on:range:above"}

    # a plant commissioned in 1985 loads under the old contract; under the new one its 投运日期 (descriptive) is
    # kept as NULL with the text and a range finding, and were the column structural the plant would be
    # quarantined (the role, not the file, decides: sources/README.md)
    ft, read, index = base_record(sample, changed)
    plant = {**read.records[index], "commissioned_on": "1985-06-01"}
    column = changed.column("commissioned_on")
    structural = dataclasses.replace(changed, columns=tuple(
        dataclasses.replace(c, role="structural") if c is column else c for c in changed.columns))
    for name, contract, outcome in (
            ("old", load_contracts()["plants"], ({}, {1}, (dt.date(1985, 6, 1), None), 0)),
            ("new", changed, ({}, {1}, (None, "1985-06-01"), 1)),
            ("structural", structural, ({1: {("commissioned_on", "range")}}, set(), None, 0))):
        home = DataHome(tmp_path / f"{name}1985").ensure()
        header = [h for h, c in zip(read.headers, read.columns) if c]
        write_csv(home.landing_for("plants") / "plants_1985.csv",
                  [header, [str(plant.get(c) or "") for c in read.columns if c]], encoding=ft["encoding"])
        quarantined, loaded, stored, findings = load(home, contract, {1: "commissioned_on"})
        assert (quarantined, loaded, stored[1], findings.get(("commissioned_on", "invalid_value", "range"), 0)) \
            == outcome, name

    # the dbt sources say no rule, so the generated file is the same; the ingestion assets build from the copy
    assert sources.render(copy) == sources.render(SOURCES_DIR)
    assert sources.main(["--check", "--sources", str(copy)]) == 0
    from pipelines.ingest.assets import build_ingest_assets

    assets = build_ingest_assets(load_contracts(copy))
    assert {a.key.path[-1] for a in assets} == set(load_contracts(copy))
    # the test oracle follows the contract too: raw is checked for the new range
    assert "commissioned_on:range" in rules.raw_violations(changed)
