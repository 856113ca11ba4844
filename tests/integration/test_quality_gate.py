"""Bad data injected into a real warehouse is caught by the mart's suite with the right severity; Dagster's
blocking check keeps ``published/`` and ``extracts/`` at the last good version, a WARN lets publication go on.

Each case copies the data home left by one clean run (test_quality_support.published_home), its Dagster
instance included, changes a mart the way a broken model would, and runs the checks and publication again in
Dagster: the failing blocking check stops publication. Then publication is materialized on its own, as an
operator might from the UI: it reads the latest check results from the Dagster instance and refuses, naming the
check. The relational rules (dbt tests) are shown blocking in test_relational_rules.py.
"""
from __future__ import annotations

import hashlib
import json
import os

import pytest
from dagster import AssetKey

from pipelines.publish.assets import PUBLISHED_KEY
from pipelines.publish.writer import verify_extracts
from test_quality_support import (  # noqa: F401  (fixtures)
    copy_home, evaluations, execute, fixture_warehouse, mart_names, only, published_home, published_rows, run_gate,
)


def _snapshot(home) -> dict:
    link = home.extracts / "all"
    return {
        "published_sha256": hashlib.sha256(home.published.read_bytes()).hexdigest(),
        "extracts_target": os.readlink(link),
        "manifest_run_ids": sorted({json.loads(p.read_text(encoding="utf-8"))["run_id"]
                                    for p in link.glob("*.manifest.json")}),
    }


def _manifest(home, mart: str) -> dict:
    return json.loads((home.extracts / "all" / f"{mart}.manifest.json").read_text(encoding="utf-8"))


def _refusal(result) -> str:
    """The message of the QualityGateError that failed publication's step."""
    error = result.get_step_failure_events()[0].step_failure_data.error
    while error is not None:
        if error.cls_name == "QualityGateError":
            return error.message
        error = error.cause
    raise AssertionError("publication failed, but not on the quality gate")


CASES = {
    # kind: (mart, SQL that breaks it, a value the samples must show)
    "duplicate_key": ("pipe_segments", "INSERT INTO marts.pipe_segments SELECT * FROM marts.pipe_segments "
                                       "WHERE segment_id = 'JJ-S2'", "JJ-S2"),
    "out_of_range": ("district_progress", "UPDATE marts.district_progress SET inspected_pct = 120 "
                                          "WHERE district_code = '331002' AND scope = 'built_up' "
                                          "AND as_of = (SELECT max(as_of) FROM marts.district_progress)", "120"),
    "schema_break": ("problem_pipes", "ALTER TABLE marts.problem_pipes RENAME COLUMN status TO state", "status"),
    "inconsistent_row": ("problem_pipes", "UPDATE marts.problem_pipes SET rectified_on = NULL "
                                          "WHERE status = 'rectified'", "chk_rectified_dated"),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_blocking_failure_keeps_the_last_good_version(kind, published_home, tmp_path):
    mart, sql, sample = CASES[kind]
    good, _ = published_home
    home = copy_home(good, tmp_path / "home")
    before = _snapshot(home)
    execute(home.warehouse, sql)

    result = run_gate(home, mart_names(home.warehouse))

    assert not result.success
    evaluation = evaluations(result)[f"marts/{mart}:ge_suite"]
    assert not evaluation.passed
    assert evaluation.severity.value == "ERROR"
    assert evaluation.metadata["failing_rows"].value >= 1
    assert sample in json.dumps(evaluation.metadata["sample_values"].value, ensure_ascii=False)
    started = {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}
    assert "published__warehouse" not in started  # Dagster's blocking check stopped it

    alone = run_gate(home, mart_names(home.warehouse), selection=[PUBLISHED_KEY])
    assert not alone.success
    refusal = _refusal(alone)
    assert f"check 'ge_suite' on asset 'marts/{mart}'" in refusal and sample in refusal
    # nothing moved: same database file, same extracts version, manifests still verify, no temp files left
    assert _snapshot(home) == before
    assert verify_extracts(home.extracts / "all") == []
    assert not list(home.published_dir.glob(".*"))
    assert [p.name for p in (home.extracts / ".versions").iterdir()] == [before["extracts_target"].split("/")[-1]]


def test_fixed_data_reopens_the_gate(published_home, tmp_path):
    """Publication on its own follows the latest results in the instance: refused while the latest evaluation of
    the suite failed, published once a later run of the check passes."""
    good, _ = published_home
    home = copy_home(good, tmp_path / "home")
    marts = mart_names(home.warehouse)
    key = AssetKey(["marts", "district_progress"])
    execute(home.warehouse, "UPDATE marts.district_progress SET rectified_pct = -1 WHERE district_code = '331002'")
    assert not evaluations(run_gate(home, marts, selection=[key]))["marts/district_progress:ge_suite"].passed
    assert "marts/district_progress" in _refusal(run_gate(home, marts, selection=[PUBLISHED_KEY]))
    execute(home.warehouse, "UPDATE marts.district_progress SET rectified_pct = 0 WHERE rectified_pct = -1")
    fixed = run_gate(home, marts, selection=[key])
    assert fixed.success and evaluations(fixed)["marts/district_progress:ge_suite"].passed
    published = run_gate(home, marts, selection=[PUBLISHED_KEY])
    assert published.success
    assert _manifest(home, "district_progress")["run_id"] == published.run_id  # the dataset that changed


def test_data_no_check_has_seen_is_not_published(published_home, tmp_path):
    """A mart materialized again after its checks ran (here: without them) is not published on the strength of
    the older results."""
    good, _ = published_home
    home = copy_home(good, tmp_path / "home")
    before = _snapshot(home)
    marts = mart_names(home.warehouse)
    assert run_gate(home, marts, selection=only(AssetKey(["marts", "problem_pipes"]))).success
    refusal = _refusal(run_gate(home, marts, selection=[PUBLISHED_KEY]))
    assert "marts/problem_pipes" in refusal and "evaluated before the asset's latest materialization" in refusal
    assert _snapshot(home) == before


def test_warning_is_reported_and_publication_goes_on(published_home, tmp_path):
    """A mart that lost most of its rows since the previous check is a WARN (row_count_change, from the previous
    evaluation's count in the event log): reported in the copy, not a reason to withhold it."""
    good, _ = published_home
    home = copy_home(good, tmp_path / "home")
    before = _snapshot(home)
    (n,) = published_rows(home, "SELECT row_count FROM meta.publication WHERE dataset = 'pipe_segments'")[0]
    execute(home.warehouse, "DELETE FROM marts.pipe_segments WHERE segment_id NOT IN "
                            "(SELECT segment_id FROM marts.pipe_segments ORDER BY segment_id LIMIT 3)")
    result = run_gate(home, mart_names(home.warehouse))
    assert result.success
    ev = evaluations(result)["marts/pipe_segments:row_count_change"]
    assert not ev.passed and ev.severity.value == "WARN"
    # n rows at the last check, 3 now: a drop of (n - 3) / n, beyond the 50 % allowed
    assert (ev.metadata["previous_rows"].value, ev.metadata["rows"].value) == (n, 3)
    assert ev.metadata["change_pct"].value == round((3 - n) / n * 100, 2) < -50
    after = _snapshot(home)
    assert after["extracts_target"] != before["extracts_target"]
    assert _manifest(home, "pipe_segments")["run_id"] == result.run_id
    assert published_rows(home, "SELECT severity, passed, run_id FROM meta.quality_status "
                                "WHERE asset = 'marts/pipe_segments' AND check_name = 'row_count_change'") == [
        ("WARN", False, result.run_id)]
    assert verify_extracts(home.extracts / "all") == []
