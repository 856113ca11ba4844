"""Relational rules live in dbt tests beside their models (dbt_project/tests/relational/ and the YAML
``relationships``), and reach Dagster as asset checks: WARN for what a bureau's file may lack (references to
another feed, the network's consistency, permit validity), ERROR — blocking — for consistency between the marts
we build.

The fixture's deliberate anomalies (tests/fixtures/raw_warehouse.py) are counted by hand below; the build is the
one test_marts_fixture makes through Dagster (dagster-dbt ``dbt build``).
"""
from __future__ import annotations

from test_marts_fixture import built  # noqa: F401  (fixture)


def _checks(built) -> dict[str, dict]:  # noqa: F811
    return {c["name"]: c for c in built[1]["checks"]}


def _configured_severities() -> dict[str, str]:
    import json

    from pipelines.transform.project import prepare_dbt_project

    manifest = json.loads(prepare_dbt_project().read_text(encoding="utf-8"))
    return {n["name"]: n["config"]["severity"].upper() for n in manifest["nodes"].values()
            if n["resource_type"] == "test"}


def test_the_fixtures_anomalies_are_warnings_of_the_dbt_tests_meant_to_find_them(built):  # noqa: F811
    checks = _checks(built)
    # network (counted from marts.network_anomalies, the network's one computation): C1→C2→C3→C1 and B1⇄B2 are
    # the two cycles, five manholes on them; JJ-ISO touches no pipe; JJ-S3 is drawn towards M004, from which
    # nothing flows on, while reversed it reaches P01's inlet; no oriented segment rises along the flow (every
    # invert pair falls, or is flat or unknown)
    expected = {
        "network_manholes_on_cycles": (False, 5),
        "network_isolated_manholes": (False, 1),
        "network_segments_drawn_against_the_flow": (False, 1),
        "network_adverse_slopes": (True, 0),
    }
    configured = _configured_severities()
    for name, (passed, rows) in expected.items():
        check = checks[name]
        # dagster-dbt records a passing test with severity ERROR whatever its config (the evaluation's severity
        # is that of a failure): the configured one is read from the manifest
        severity = check["severity"] if not check["passed"] else configured[name]
        assert (check["asset"], check["passed"], severity, check["failed_rows"]) == (
            "marts/network_anomalies", passed, "WARN", rows), name
    # orphan references a bureau's file may carry: reported, not blocking
    for name in ("relationships_stg_permits__drainage_connection_manhole_id__manhole_id__ref_stg_census__manholes_",
                 "relationships_stg_inspections__defects_segment_id__segment_id__ref_stg_census__pipes_",
                 "projects_cite_census_segments"):
        assert not checks[name]["passed"] and checks[name]["severity"] == "WARN", name


def test_consistency_between_marts_is_an_error_and_holds_on_the_fixture(built):  # noqa: F811
    checks = _checks(built)
    configured = _configured_severities()
    for name, asset in (("district_progress_city_row_is_the_sum", "marts/district_progress"),
                        ("capacity_screening_cites_pipe_segments", "marts/capacity_screening"),
                        ("effluent_compliance_daily_cites_registered_plants", "marts/effluent_compliance_daily"),
                        ("plant_influent_monthly_cites_registered_plants", "marts/plant_influent_monthly"),
                        ("sewershed_quality_cites_registered_plants", "marts/sewershed_quality"),
                        ("discharger_profile_cites_registered_plants", "marts/discharger_profile")):
        # configured ERROR (a passing evaluation says ERROR whatever the config, so the manifest is asked)
        assert (checks[name]["asset"], configured[name], checks[name]["passed"]) == (asset, "ERROR", True)
