"""The dbt project as Dagster sees it: lineage from the ingestion assets, checks, documentation.
Reads the parsed manifest only (no warehouse), so it runs in seconds."""
from __future__ import annotations

import csv
import re
import json

import pytest
from dagster import AssetKey

from pipelines.contracts import load_contracts
from pipelines.home import DBT_PROJECT_DIR
from pipelines.transform.assets import build_dbt_assets, dbt_resource
from pipelines.transform.project import MANIFEST_PATH, prepare_dbt_project


REQUIRED_MARTS = {
    "pipe_segments", "problem_pipes", "district_progress", "plant_influent_monthly", "city_bod5_kpi",
    "effluent_compliance_daily", "discharger_profile", "enforcement_monthly", "sewershed_quality",
    "capacity_screening", "project_portfolio", "network_anomalies",
}


@pytest.fixture(scope="module")
def dbt_models():
    return build_dbt_assets()


def _manifest() -> dict:
    prepare_dbt_project()
    return json.loads(MANIFEST_PATH.read_text())


def test_every_feed_is_a_source_mapped_onto_its_ingestion_asset(dbt_models):
    feeds = set(load_contracts())
    upstream = {dep.asset_key for spec in dbt_models.specs for dep in spec.deps}
    raw_keys = {key for key in upstream if key.path[0] == "raw"}
    assert raw_keys == {AssetKey(["raw", feed]) for feed in feeds}
    # no dbt asset pretends to be an ingestion table
    assert not any(spec.key.path[0] == "raw" for spec in dbt_models.specs)


def test_marts_are_assets_in_schema_marts_downstream_of_staging(dbt_models):
    keys = {spec.key for spec in dbt_models.specs}
    assert {AssetKey(["marts", name]) for name in REQUIRED_MARTS} <= keys
    staging = {k for k in keys if k.path[0] == "staging"}
    assert len(staging) >= len(load_contracts())
    deps = {spec.key: {d.asset_key for d in spec.deps} for spec in dbt_models.specs}
    assert AssetKey(["intermediate", "int_segment_inspections_scored"]) in deps[AssetKey(["intermediate", "int_segment_condition"])]


def test_dbt_tests_surface_as_asset_checks(dbt_models):
    manifest = _manifest()
    tests = {n["name"] for n in manifest["nodes"].values()
             if n["resource_type"] == "test" and (n.get("attached_node")
                                                  or n["original_file_path"].startswith("tests/relational/"))}
    checks = {c.name: c for c in dbt_models.check_specs}
    assert set(checks) == tests
    assert checks["district_progress_city_row_is_the_sum"].asset_key == AssetKey(["marts", "district_progress"])
    assert checks["district_progress_city_row_is_the_sum"].blocking  # severity error
    assert not checks["network_manholes_on_cycles"].blocking  # severity warn
    assert any(c.asset_key == AssetKey(["marts", "problem_pipes"]) and c.name.startswith("relationships_problem_pipes")
               for c in checks.values())


def test_every_model_and_seed_is_documented():
    manifest = _manifest()
    for node in manifest["nodes"].values():
        if node["resource_type"] not in ("model", "seed"):
            continue
        assert node["description"].strip(), node["name"]
        if node["resource_type"] == "model":
            assert node["columns"], f"{node['name']}: no documented columns"
            for column, spec in node["columns"].items():
                assert spec["description"].strip(), (node["name"], column)


def test_unit_tests_cover_cjj181_and_kpis():
    manifest = _manifest()
    unit = {u["name"]: u["model"] for u in manifest.get("unit_tests", {}).values()}
    assert {"cjj181_segment_without_defects", "cjj181_one_defect", "cjj181_defects_1_2_m_apart",
            "cjj181_mixed_structural_and_functional", "cjj181_k_e_t_with_f_at_least_4"} <= set(unit)
    # issue 15: every grade boundary of F, G, RI, MI and the density extents (tests/mutation/grade_boundaries.py)
    assert {"cjj181_boundary_f_grade", "cjj181_boundary_g_grade", "cjj181_boundary_ri_grade",
            "cjj181_boundary_mi_grade", "cjj181_boundary_density_extents", "cjj181_factor_edges",
            "cjj181_boundary_grades_with_stand_in_points"} <= set(unit)
    assert unit["district_exactly_at_60_pct_on_the_deadline"] == "district_progress"
    assert unit["bod5_plant_at_exactly_100_mg_l"] == "city_bod5_kpi"


def test_every_seed_row_names_its_source():
    seed_dirs = [DBT_PROJECT_DIR / "seeds", DBT_PROJECT_DIR.parent / "sources" / "reference"]
    paths = [p for d in seed_dirs for p in d.glob("*.csv")]
    assert len(paths) >= 10
    for path in paths:
        with path.open(encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        assert rows, path.name
        assert all(r.get("source", "").strip() for r in rows), path.name


def test_cjj181_seed_has_no_grade_the_standard_lacks():
    with (DBT_PROJECT_DIR / "seeds" / "cjj181_defect_scores.csv").open(encoding="utf-8") as f:
        grades = {(r["defect_code"], int(r["grade"])) for r in csv.DictReader(f)}
    assert ("FS", 4) not in grades and ("TL", 3) not in grades and ("FZ", 4) not in grades
    assert ("PL", 4) in grades and len({code for code, _ in grades}) == 16


def test_dbt_resource_uses_this_environments_dbt():
    resource = dbt_resource()
    assert resource.dbt_executable.endswith("dbt")
    assert resource.project_dir == str(DBT_PROJECT_DIR)


def test_every_plant_standard_in_the_contract_has_effluent_limits():
    """sources/plants.yml maps bureau wording (e.g. 准地表水IV类) onto standard codes; a code without rows in the
    water_quality_limits seed would leave that plant's effluent compliance silently empty."""
    standard = load_contracts()["plants"].column("standard")
    codes = set(standard.values.values())
    assert codes, "plants contract lists no standard codes"
    with open(DBT_PROJECT_DIR / "seeds" / "water_quality_limits.csv", encoding="utf-8") as f:
        limits = {}
        for row in csv.DictReader(f):
            limits.setdefault(row["standard"], set()).add(row["factor"])
    missing = {code: {"cod", "nh3n", "tn", "tp", "ph"} - limits.get(code, set()) for code in codes}
    assert not {code: gap for code, gap in missing.items() if gap}, missing


def test_hj212_factor_var_matches_the_online_contract():
    """The staging models unpivot var hj212_factor_columns; a factor added to the contract but not the var would be
    ingested and then silently dropped from every mart."""
    import yaml

    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    contract = load_contracts()["plant_online"].factors
    names = {f["name"] if isinstance(f, dict) else f.name for f in contract.values()}
    assert set(project["vars"]["hj212_factor_columns"]) == names


def test_source_freshness_is_the_contracts_cadence_rule():
    """One rule for "overdue for its cadence" (pipelines.contracts.CADENCE_OVERDUE_AFTER_DAYS): the dbt sources'
    freshness must say the same as the alerts and the freshness checks, never a second threshold."""
    import yaml

    from pipelines.contracts import overdue_after_days

    sources = yaml.safe_load((DBT_PROJECT_DIR / "models" / "staging" / "_raw__sources.yml").read_text(encoding="utf-8"))
    contracts = load_contracts()
    seen = set()
    for table in next(s for s in sources["sources"] if s["name"] == "raw")["tables"]:
        if not table["name"].endswith("_current"):
            continue                                 # a history table: its _current view carries the freshness
        feed = table["name"][: -len("_current")]
        seen.add(feed)
        rule = overdue_after_days(contracts[feed].cadence)
        freshness = (table.get("config") or {}).get("freshness")
        if rule is None:
            assert freshness is None, feed
        else:
            assert freshness["warn_after"] == {"count": rule, "period": "day"}, feed
    assert seen == set(contracts)


# What a model may add up as a DOUBLE: counts (an integer column or a 1/0 flag); every other sum goes through
# exact_sum / exact (dbt_project/macros/exact.sql), so a mart is the same whatever order the threads add rows in.
COUNT_SUMMAND = re.compile(r"^(?:\w+\.)?n_\w+$|^case when .* then 1 else 0 end$", re.S)


def _sum_arguments(sql: str) -> list[str]:
    """The argument of every ``sum(`` in a model's SQL (balanced parentheses)."""
    out = []
    for match in re.finditer(r"\bsum\(", sql):
        depth, i = 1, match.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(sql[i], 0)
            i += 1
        out.append(" ".join(sql[match.end():i - 1].split()))
    return out


def test_every_sum_of_a_measure_is_exact():
    """Two runs of the same input gave 1141.92 and 1141.93 for one district's problem length (a DOUBLE sum, then
    round(…, 2)): a kill -9 trial's rerun differed from the clean run. This fails for a model that sums a measure
    (length, money, volume, score) without exact_sum / exact."""
    loose = []
    for path in sorted((DBT_PROJECT_DIR / "models").rglob("*.sql")):
        for argument in _sum_arguments(path.read_text(encoding="utf-8")):
            if not ("{{ exact(" in argument or COUNT_SUMMAND.match(argument)):
                loose.append(f"{path.name}: sum({argument})")
    assert not loose, loose
