"""One home per kind of rule (docs/quality.md): nothing in the dbt project restates a contract's row rule or a
mart's great-expectations promise, and the quality package stays small. Reads the parsed dbt manifest only."""
from __future__ import annotations

import json

from pipelines.contracts import load_contracts
from pipelines.home import REPO_ROOT
from pipelines.quality.suites import load_suites
from pipelines.transform.project import MANIFEST_PATH, prepare_dbt_project

RESTATING = {"unique", "not_null", "accepted_values", "in_range", "unique_combination_of_columns",
             "expression_is_true"}


def _manifest() -> dict:
    prepare_dbt_project()
    return json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))


def _feed_of(manifest: dict, node_id: str) -> str | None:
    """The feed a staging model reads (through its source, or another staging model)."""
    for parent in manifest["nodes"][node_id]["depends_on"]["nodes"]:
        if parent.startswith("source."):
            return manifest["sources"][parent]["name"].removesuffix("_current")
        if parent.startswith("model.") and manifest["nodes"][parent]["schema"] == "staging":
            return _feed_of(manifest, parent)
    return None


def _generic_tests(manifest: dict):
    for node in manifest["nodes"].values():
        if node["resource_type"] == "test" and node.get("test_metadata") and node.get("attached_node"):
            yield node, manifest["nodes"][node["attached_node"]]


def test_staging_tests_do_not_restate_a_contract_rule():
    """A rule a contract states (required, enumeration, range, the key, a district) is kept by the loader; a
    staging test repeating it would be a second file to edit with every contract change."""
    manifest = _manifest()
    contracts = load_contracts()
    restated = []
    for test, model in _generic_tests(manifest):
        if model["schema"] != "staging":
            continue
        feed = _feed_of(manifest, model["unique_id"])
        if feed not in contracts:      # a staging model over no feed (the loader's file registry)
            continue
        contract = contracts[feed]
        kind, column = test["test_metadata"]["name"], test.get("column_name")
        columns = {c.name: c for c in contract.columns}
        args = test["test_metadata"].get("kwargs", {})
        if kind == "unique_combination_of_columns":
            restated += [test["name"]] if set(args["combination_of_columns"]) == set(contract.primary_key) else []
        elif kind in ("unique", "not_null") and column in contract.primary_key:
            restated.append(test["name"])
        elif kind == "not_null" and column in columns and columns[column].required:
            restated.append(test["name"])
        elif kind == "accepted_values" and column in columns and columns[column].type == "enum":
            restated.append(test["name"])
        elif kind == "relationships" and column in columns and columns[column].type == "district":
            restated.append(test["name"])
    assert restated == []


def test_mart_tests_are_relational_and_every_mart_has_its_promises_in_a_suite():
    manifest = _manifest()
    on_marts = [(test["test_metadata"]["name"], model["name"]) for test, model in _generic_tests(manifest)
                if model["schema"] == "marts"]
    assert [t for t in on_marts if t[0] in RESTATING] == []
    assert {kind for kind, _ in on_marts} == {"relationships"}
    marts = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["schema"] == "marts"}
    assert marts <= set(load_suites())


def test_the_relational_singular_tests_attach_to_a_model():
    """Each singular test under tests/relational/ names the model it checks, so Dagster shows it as that asset's
    check (a test reading several models needs meta.dagster.ref)."""
    manifest = _manifest()
    singular = [n for n in manifest["nodes"].values()
                if n["resource_type"] == "test" and n["original_file_path"].startswith("tests/relational/")]
    assert len(singular) >= 10
    for node in singular:
        models = [p for p in node["depends_on"]["nodes"] if p.startswith("model.")]
        ref = (node["config"].get("meta") or {}).get("dagster", {}).get("ref")
        assert len(models) == 1 or ref, node["name"]
        assert node["config"]["severity"].lower() in ("warn", "error")


def test_the_quality_package_is_well_under_half_its_old_size():
    """pipelines/quality/ was 1 991 lines (suites, runner, fingerprints, store, gate, domain checks, reports,
    generator) before its rules went home to the loader, dbt and Dagster."""
    lines = sum(len(p.read_text(encoding="utf-8").splitlines())
                for p in (REPO_ROOT / "pipelines" / "quality").glob("*.py"))
    assert lines < 1991 * 0.4, lines
