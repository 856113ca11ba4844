"""The checked-in mart suites: every mart has one, each is well formed, and GE accepts every expectation."""
from __future__ import annotations

import json

from pipelines.home import EXPECTATIONS_DIR
from pipelines.quality.suites import load_suites, validate_suite_shape
from pipelines.transform.project import MANIFEST_PATH, prepare_dbt_project


def test_every_suite_is_well_formed_and_readable():
    suites = load_suites()
    assert suites
    for name, suite in suites.items():
        assert validate_suite_shape(suite) == [], name
        assert suite.asset_key == ("marts", name)
        # one expectation per line: a diff names the expectation that changed
        text = suite.path.read_text(encoding="utf-8")
        assert sum(1 for line in text.splitlines() if line.lstrip().startswith('{"type"')) == len(suite.expectations)


def test_great_expectations_accepts_every_expectation():
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    from pipelines.quality.expectations import _adapt

    suites = load_suites()
    # an empty suite would make this loop vacuous: every suite must hand GE at least one expectation
    assert suites and all(suite.expectations for suite in suites.values())
    for suite in suites.values():
        for exp in suite.expectations:
            ExpectationConfiguration(**_adapt(exp, {})).to_domain_obj()  # raises on bad kwargs


def test_every_dbt_mart_has_a_suite():
    """A mart added to the dbt project must come with its promises, or it would publish unguarded."""
    prepare_dbt_project()
    manifest = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
    marts = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["schema"] == "marts"}
    assert {"pipe_segments", "district_progress", "city_bod5_kpi"} <= marts
    assert marts - set(load_suites(EXPECTATIONS_DIR / "marts")) == set()


def test_there_are_no_raw_suites():
    """Row rules live in the contracts and the loader (tests/integration/test_loader_guarantees.py proves it
    keeps them); a raw suite would be a second home."""
    assert not (EXPECTATIONS_DIR / "raw").exists()
