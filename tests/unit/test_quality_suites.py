"""The checked-in suites: generated raw suites match the contracts, every suite is well formed and GE accepts
every expectation."""
from __future__ import annotations

import pytest

from pipelines.contracts import load_contracts
from pipelines.quality.generate import build_raw_suites, main as generate_main
from pipelines.quality.suites import load_suites, validate_suite_shape


def test_checked_in_raw_suites_are_those_the_contracts_generate():
    # fails when a contract changed and `python -m pipelines.quality.generate` was not re-run
    assert generate_main(["--check"]) == 0
    for feed, suite in build_raw_suites().items():
        assert load_suites("raw")[feed].to_json() == suite.to_json()


def test_one_suite_per_feed_and_per_mart():
    assert set(load_suites("raw")) == set(load_contracts())
    assert {"pipe_segments", "problem_pipes", "district_progress", "plant_influent_monthly", "city_bod5_kpi",
            "effluent_compliance_daily", "discharger_profile", "enforcement_monthly", "sewershed_quality",
            "capacity_screening", "project_portfolio", "network_anomalies"} <= set(load_suites("marts"))


@pytest.mark.parametrize("kind", ["raw", "marts"])
def test_every_suite_is_well_formed_and_readable(kind):
    for name, suite in load_suites(kind).items():
        assert validate_suite_shape(suite) == [], name
        assert suite.asset_key == (kind, name)
        # one expectation per line: a diff names the expectation that changed
        text = suite.path.read_text(encoding="utf-8")
        assert sum(1 for line in text.splitlines() if line.lstrip().startswith('{"type"')) == len(suite.expectations)


@pytest.mark.parametrize("kind", ["raw", "marts"])
def test_great_expectations_accepts_every_expectation(kind):
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    from pipelines.quality.runner import _adapt

    suites = load_suites(kind)
    # an empty suite would make this loop vacuous: every suite must hand GE at least one expectation
    assert suites and all(suite.expectations for suite in suites.values()), kind
    for suite in suites.values():
        for exp in suite.expectations:
            ExpectationConfiguration(**_adapt(exp, suite, {})).to_domain_obj()  # raises on bad kwargs


def test_raw_suites_restate_every_contract_rule():
    suites = load_suites("raw")
    for feed, contract in load_contracts().items():
        exps = suites[feed].expectations
        by = {(e["type"], e["kwargs"].get("column")): e for e in exps}
        for col in contract.columns:
            if col.required and col.type not in ("pipe_size",):
                assert by[("expect_column_values_to_not_be_null", col.name)]["meta"]["severity"] == "ERROR"
            if col.range is not None and col.type != "pipe_size":
                e = by[("expect_column_values_to_be_between", col.name)]
                assert (e["kwargs"]["min_value"], e["kwargs"]["max_value"]) == tuple(col.range)
            if col.type == "enum":
                assert set(by[("expect_column_values_to_be_in_set", col.name)]["kwargs"]["value_set"]) == \
                    set(col.values.values())
            if col.pattern:
                assert by[("expect_column_values_to_match_regex", col.name)]["kwargs"]["regex"] == col.pattern
            if col.credit_code:
                assert suites[feed].derived[f"chk_{col.name}_checksum"].count("is_valid_credit_code") == 1
        key = list(contract.primary_key)
        assert any(e["kwargs"].get("column_list", [e["kwargs"].get("column")]) == key
                   and "unique" in e["type"] for e in exps)


def test_every_dbt_mart_has_a_suite():
    """A mart added to the dbt project must come with its expectations, or it would publish unguarded."""
    from pipelines.home import EXPECTATIONS_DIR
    from pipelines.quality.checks import mart_names
    from pipelines.quality.suites import load_suites

    marts = set(mart_names())
    assert {"pipe_segments", "district_progress", "city_bod5_kpi"} <= marts
    assert marts - set(load_suites("marts", EXPECTATIONS_DIR)) == set()
