"""The marts on the generated sample against its truth file (sample, ingestion and dbt build: ~1 min).

The generator records deliberate oddities that are valid at ingestion and must be caught downstream
(docs/architecture.md, sample_truth.json ``anomalies``). The marts must find exactly those: every segment
drawn against the flow is reoriented, every repeat offender is flagged, every orphan reference is listed.
SEWERSHARE_MARTS_SCALE sets the scale (default 0.01); above 0.01 the module is marked slow
(``SEWERSHARE_MARTS_SCALE=1 pytest -m slow tests/integration/test_marts_sample.py -s`` prints the build time).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipelines import duck
from pipelines.home import DataHome

SCALE = float(os.environ.get("SEWERSHARE_MARTS_SCALE", "0.01"))
if SCALE > 0.01:
    pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The session's shared sample home (tests/fixtures/published_home.py): sample, ingestion, dbt build through
    Dagster, publication; built once for every module that needs it."""
    from tests.fixtures.published_home import sample_home

    built = sample_home(tmp_path_factory, scale=SCALE)
    print(f"\ndbt build through Dagster at scale {SCALE}: {built.build['seconds']:.1f} s")
    return built.home, built.truth, built.build


def _truth_rows(truth: dict, feed: str, kind: str) -> list[tuple[str, int]]:
    return [(Path(f["path"]).name, a["row"]) for f in truth["files"] if f["feed"] == feed
            for a in f.get("anomalies", []) if a["kind"] == kind]


def _keys(home: DataHome, table: str, key: str, rows: list[tuple[str, int]]) -> set:
    con = duck.connect(home.warehouse, read_only=True, extensions=())
    try:
        con.execute("CREATE TEMP TABLE wanted (file VARCHAR, source_row BIGINT)")
        con.executemany("INSERT INTO wanted VALUES (?, ?)", rows)
        found = con.execute(f"""SELECT r.{key} FROM wanted w JOIN {table} r
                                ON r._source_file = w.file AND r._source_row = w.source_row""").fetchall()
    finally:
        con.close()
    assert len(found) == len(rows), f"{table}: truth rows not found in the raw layer"
    return {r[0] for r in found}


def _query(home: DataHome, sql: str) -> set:
    con = duck.connect(home.warehouse, read_only=True, extensions=())
    try:
        return {r[0] for r in con.execute(sql).fetchall()}
    finally:
        con.close()


def test_build_passes_every_blocking_check(sample):
    _, _, build = sample
    assert build["success"]
    assert not [c["name"] for c in build["checks"] if not c["passed"] and c["severity"] == "ERROR"]


def test_segments_drawn_against_the_flow_are_exactly_the_reoriented_ones(sample):
    home, truth, _ = sample
    expected = _keys(home, "raw.census_pipes_current", "segment_id",
                     _truth_rows(truth, "census_pipes", "against_flow"))
    assert expected
    found = _query(home, "SELECT object_id FROM marts.network_anomalies WHERE anomaly_kind = 'reversed_segment'")
    assert found == expected


def test_direct_discharges_are_exactly_the_listed_ones_and_first_in_the_register(sample):
    home, truth, _ = sample
    expected = _keys(home, "raw.census_pipes_current", "segment_id",
                     _truth_rows(truth, "census_pipes", "direct_discharge"))
    assert expected
    found = _query(home, "SELECT object_id FROM marts.network_anomalies WHERE anomaly_kind = 'direct_discharge'")
    assert found == expected
    assert _query(home, "SELECT segment_id FROM marts.problem_pipes WHERE priority = 1") == expected


def test_a_later_sonar_check_keeps_the_cctv_structure(sample):
    """Segments whose latest inspection is sonar after a CCTV one (the 声纳复查 batches): the structural grade
    is the CCTV inspection's, read here straight from the raw layer."""
    home, _, _ = sample
    con = duck.connect(home.warehouse, read_only=True, extensions=())
    try:
        rows = con.execute("""
            WITH latest AS (
                SELECT segment_id, arg_max(method, inspected_on) AS method, max(inspected_on) AS on_
                FROM raw.inspections_current GROUP BY segment_id),
            cctv AS (
                SELECT segment_id, max(inspected_on) AS on_ FROM raw.inspections_current
                WHERE method = 'CCTV' GROUP BY segment_id)
            SELECT l.segment_id, c.on_, p.structural_method, p.structural_inspected_on, p.last_method
            FROM latest l JOIN cctv c USING (segment_id) JOIN marts.pipe_segments p USING (segment_id)
            WHERE l.method = 'SONAR' AND c.on_ < l.on_""").fetchall()
    finally:
        con.close()
    assert rows
    assert all((method, on, last) == ("CCTV", cctv_on, "SONAR") for _, cctv_on, method, on, last in rows), rows[:3]


def test_repeat_offenders_are_exactly_the_flagged_dischargers(sample):
    home, truth, _ = sample
    expected = _keys(home, "raw.enforcement_current", "credit_code",
                     _truth_rows(truth, "enforcement", "repeat_offender"))
    assert expected
    assert _query(home, "SELECT credit_code FROM marts.discharger_profile WHERE is_repeat_offender") == expected


def test_orphan_manholes_of_the_census_are_listed(sample):
    home, truth, _ = sample
    orphans = [(Path(f["path"]).name, a["row"], a["field"]) for f in truth["files"] if f["feed"] == "census_pipes"
               for a in f.get("anomalies", []) if a["kind"] == "orphan_reference"]
    expected = set()
    for field in ("start_manhole_id", "end_manhole_id"):
        rows = [(name, row) for name, row, f in orphans if f == field]
        if rows:
            expected |= _keys(home, "raw.census_pipes_current", field, rows)
    assert expected
    listed = _query(home, "SELECT object_id FROM marts.network_anomalies WHERE anomaly_kind = 'missing_manhole'")
    assert expected <= listed
