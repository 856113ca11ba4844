"""Bad data injected into a real warehouse is caught by the right check with the right severity; ERROR keeps
``published/`` and ``extracts/`` at the last good version, WARN lets publication go on.

Each case copies the data home left by one clean run (test_quality_support.published_home), changes the
warehouse the way a broken load or a broken model would, and runs the whole gate again in Dagster: the failing
blocking check stops publication. Then publication is materialized on its own, as an operator might from the UI:
its own gate reads the latest check results and refuses, naming the check.
"""
from __future__ import annotations

import hashlib
import json
import os

import pytest
from dagster import AssetKey

from pipelines.publish.assets import PUBLISHED_KEY
from pipelines.publish.writer import verify_extracts
from pipelines.quality.gate import gate_failures, gate_message
from test_quality_support import (  # noqa: F401  (fixtures)
    copy_home, evaluations, execute, fixture_warehouse, mart_names, published_home, run_gate,
)


def _snapshot(home) -> dict:
    link = home.extracts / "all"
    return {
        "published_sha256": hashlib.sha256(home.published.read_bytes()).hexdigest(),
        "extracts_target": os.readlink(link),
        "manifest_run_ids": sorted({json.loads(p.read_text(encoding="utf-8"))["run_id"]
                                    for p in link.glob("*.manifest.json")}),
    }


CASES = {
    # kind: (asset the check is on, check, SQL that breaks the warehouse, a value the samples must show)
    "schema_break_raw": ("raw/census_pipes", "ge_suite",
                         "ALTER TABLE raw.census_pipes RENAME COLUMN diameter_mm TO pipe_diameter_mm",
                         "diameter_mm"),
    "out_of_range_raw": ("raw/census_pipes", "ge_suite",
                         "UPDATE raw.census_pipes SET diameter_mm = 9000 WHERE segment_id = 'JJ-S2'", "9000"),
    # a loader that forgets to close the old version: two current versions of JJ-S1, each alone in its file,
    # so the per-file suite cannot see it — the warehouse invariant can
    "duplicate_key_raw": ("raw/census_pipes", "current_key_unique",
                          "UPDATE raw.census_pipes SET _is_current = true, _valid_to = NULL "
                          "WHERE segment_id = 'JJ-S1' AND NOT _is_current", "JJ-S1"),
    "duplicate_key_mart": ("marts/pipe_segments", "ge_suite",
                           "INSERT INTO marts.pipe_segments SELECT * FROM marts.pipe_segments "
                           "WHERE segment_id = 'JJ-S2'", "JJ-S2"),
    "out_of_range_mart": ("marts/district_progress", "ge_suite",
                          "UPDATE marts.district_progress SET inspected_pct = 120 "
                          "WHERE district_code = '331002' AND scope = 'built_up' "
                          "AND as_of = (SELECT max(as_of) FROM marts.district_progress)", "120"),
    "broken_reference_mart": ("marts/problem_pipes", "reference_pipe_segments",
                              "DELETE FROM marts.pipe_segments WHERE segment_id = 'XQ-X3'", "XQ-X3"),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_blocking_failure_keeps_the_last_good_version(kind, published_home, tmp_path):
    asset, check, sql, sample = CASES[kind]
    good, _ = published_home
    home = copy_home(good, tmp_path / "home")
    before = _snapshot(home)
    execute(home.warehouse, sql)

    result = run_gate(home, mart_names(home.warehouse))

    assert not result.success
    evaluation = evaluations(result)[f"{asset}:{check}"]
    assert not evaluation.passed
    assert evaluation.severity.value == "ERROR"
    assert evaluation.metadata["failing_rows"].value >= 1
    assert sample in json.dumps(evaluation.metadata["sample_values"].value, ensure_ascii=False)
    started = {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}
    assert "published__warehouse" not in started
    # the message for the operator names the check, the asset, the failing rows and samples
    message = gate_message(home)
    assert f"check '{check}' on asset '{asset}'" in message and sample in message
    assert "failing rows" in message
    # the reports say so too, although publication (which writes them after success) did not run
    summary = json.loads((home.reports / "quality_summary.json").read_text(encoding="utf-8"))
    assert not summary["gate_open"]
    assert any(c["check"] == check and c["severity"] == "ERROR" for a in summary["assets"] if a["asset"] == asset
               for c in a["checks"])

    alone = run_gate(home, mart_names(home.warehouse), selection=[PUBLISHED_KEY])
    assert not alone.success
    error, chain = alone.get_step_failure_events()[0].step_failure_data.error, []
    while error is not None:
        chain.append(error)
        error = error.cause
    refusal = next(e for e in chain if e.cls_name == "QualityGateError")
    assert asset in refusal.message and check in refusal.message and sample in refusal.message
    # nothing moved: same database file, same extracts version, manifests still verify, no temp files left
    assert _snapshot(home) == before
    assert verify_extracts(home.extracts / "all") == []
    assert not list(home.published_dir.glob(".*"))
    assert [p.name for p in (home.extracts / ".versions").iterdir()] == [before["extracts_target"].split("/")[-1]]


def test_fixed_data_reopens_the_gate(published_home, tmp_path):
    """Only the changed file is validated; once it is fixed the gate opens again and publication proceeds."""
    good, _ = published_home
    home = copy_home(good, tmp_path / "home")
    execute(home.warehouse, "UPDATE raw.census_pipes SET diameter_mm = 9000 WHERE segment_id = 'JJ-S2'")
    selection = [AssetKey(["raw", "census_pipes"])]
    first = run_gate(home, mart_names(home.warehouse), selection=selection)
    ev = evaluations(first)["raw/census_pipes:ge_suite"]
    assert not ev.passed and ev.metadata["batches_validated"].value == 1  # the one file that changed
    execute(home.warehouse, "UPDATE raw.census_pipes SET diameter_mm = 800 WHERE segment_id = 'JJ-S2'")
    assert gate_failures(home)
    fixed = run_gate(home, mart_names(home.warehouse), selection=selection)
    assert evaluations(fixed)["raw/census_pipes:ge_suite"].passed
    assert fixed.success and gate_failures(home) == []
    assert run_gate(home, mart_names(home.warehouse), selection=[PUBLISHED_KEY]).success


def test_warning_is_reported_and_publication_goes_on(published_home, tmp_path):
    """An orphan reference in a bureau's file is WARN at raw level: reported, not a reason to withhold."""
    good, _ = published_home
    home = copy_home(good, tmp_path / "home")
    before = _snapshot(home)
    execute(home.warehouse, "UPDATE raw.drainage_permits SET connection_manhole_id = 'JJ-NOWHERE' "
                            "WHERE permit_no = 'DP-331002-0001'")
    result = run_gate(home, mart_names(home.warehouse), selection=[AssetKey(["raw", "drainage_permits"])])
    assert result.success
    ev = evaluations(result)["raw/drainage_permits:reference_connection_manhole"]
    assert not ev.passed and ev.severity.value == "WARN"
    assert ev.metadata["failing_rows"].value == 2  # the fixture's NO-SUCH-MH and the one injected
    assert "JJ-NOWHERE" in json.dumps(ev.metadata["sample_values"].value)
    published = run_gate(home, mart_names(home.warehouse), selection=[PUBLISHED_KEY])
    assert published.success
    after = _snapshot(home)
    assert after["extracts_target"] != before["extracts_target"]
    assert after["manifest_run_ids"] == [published.run_id]
    assert verify_extracts(home.extracts / "all") == []
