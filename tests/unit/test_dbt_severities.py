"""Which dbt tests block publication (ERROR) and which report (WARN) — the rule, checked test by test (issue 15),
within one home per rule (issue 11).

A staging row is what the loader kept. A value the marts cannot do without — a column the contract marks
``required`` whose failure quarantines the record (role identity or structural, sources/README.md), such as a
census segment's ``pipe_category``, ``scope`` and ``district_code`` — is kept by the loader: a record without it
never reaches raw (tests/integration/test_loader_guarantees.py proves it rule by rule, and test_main_job.py finds
no such NULL in the raw layer of the whole messy sample). Before issue 15 a WARN ``not_null`` on staging restated
it; issue 15 made those ERROR; issue 11 removed them as a second home of the contract's rule. What holds here:

* no staging test restates such a rule (neither at WARN, which could never fail the suite, nor at ERROR);
* a ``required`` descriptive value may be missing (the loader keeps the record with a finding): the raw-layer
  oracle does not require it and no dbt test requires it either;
* ``relationships`` to a seed that holds the codes the contracts map to (``CODE_SEEDS``: districts, HJ 212 flags
  and factors) are ERROR: the loader maps every spelling to one of them, so a miss means the seed and the contract
  disagree. Orphan references between two feeds (docs/decisions.md: a row is true to its file) and references a
  staging model works out by matching (a task as written matched to a plan item) stay WARN.

The expected set of WARN findings on the hand-made fixture is pinned in test_marts_fixture.py.
"""
from __future__ import annotations

import json

from pipelines.contracts import load_contracts
from pipelines.transform.project import prepare_dbt_project

RAW_VIEW_SUFFIX = "_current"
# seeds holding the codes the loader maps contract values to (districts.csv is also the loader's district list)
CODE_SEEDS = {"districts", "hj212_flags", "hj212_factors"}


def _manifest() -> dict:
    return json.loads(prepare_dbt_project().read_text())


def _staging_feeds(manifest: dict) -> dict[str, list[str]]:
    """Staging model → the feeds (raw sources) it reads."""
    out = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["name"].startswith("stg_"):
            sources = [manifest["sources"][s]["name"] for s in node["depends_on"]["nodes"] if s.startswith("source.")]
            out[node["name"]] = [s[: -len(RAW_VIEW_SUFFIX)] if s.endswith(RAW_VIEW_SUFFIX) else s for s in sources]
    return out


def _staging_tests(manifest: dict, kind: str) -> list[tuple[str, str, str, bool]]:
    """(model, column, severity, reads a code seed) of every ``kind`` test attached to a staging model."""
    out = []
    for node in manifest["nodes"].values():
        meta = node.get("test_metadata") or {}
        if node["resource_type"] != "test" or meta.get("name") != kind:
            continue
        model = (node.get("attached_node") or "").rsplit(".", 1)[-1]
        if model.startswith("stg_"):
            seed = any(n.startswith("seed.") and n.rsplit(".", 1)[-1] in CODE_SEEDS
                       for n in node["depends_on"]["nodes"])
            out.append((model, node["column_name"], node["config"]["severity"].upper(), seed))
    return out


def test_a_required_value_the_marts_need_has_one_blocking_home_the_loader():
    from tests.support.contract_rules import raw_violations

    manifest = _manifest()
    feeds = _staging_feeds(manifest)
    contracts = load_contracts()
    guaranteed = {(feed, c.name) for feed, contract in contracts.items() for c in contract.columns
                  if c.required and c.strict and not c.derived and c.type not in ("geometry", "pipe_size")}
    # the columns issue 15 found WARN-only are among them (a contract change making them optional shows here)
    assert {("census_pipes", "pipe_category"), ("census_pipes", "scope"), ("census_pipes", "district_code")} \
        <= guaranteed
    assert len(guaranteed) > 20
    # the loader's home: the raw-layer oracle (run over the whole sample by test_main_job.py) requires each one,
    # and requires no descriptive value
    for feed, contract in contracts.items():
        required = {label.split(":")[0] for label in raw_violations(contract) if label.endswith(":required")}
        assert {name for f, name in guaranteed if f == feed} <= required, feed
        assert not {c.name for c in contract.columns if not c.strict} & required, feed
    # and no second home: no staging not_null restates one, at any severity
    restated = [(model, column, severity) for model, column, severity, _ in _staging_tests(manifest, "not_null")
                if any((feed, column) in guaranteed for feed in feeds[model])]
    assert restated == []
    # a descriptive value may be missing: nothing in the dbt project blocks on it being NULL in staging
    descriptive = {(feed, c.name) for feed, contract in contracts.items() for c in contract.columns if not c.strict}
    blocking_on_descriptive = [(model, column) for model, column, severity, _ in _staging_tests(manifest, "not_null")
                               if severity == "ERROR" and any((f, column) in descriptive for f in feeds[model])]
    assert blocking_on_descriptive == []


def test_relationships_on_staging_warn_about_orphans_and_block_on_reference_data():
    manifest = _manifest()
    tests = _staging_tests(manifest, "relationships")
    assert tests, "the staging models lost their relationships tests"
    assert any(seed for *_, seed in tests) and not all(seed for *_, seed in tests)
    wrong = [f"{model}.{column}: {severity}, should be {'ERROR (code seed)' if seed else 'WARN (orphan or match)'}"
             for model, column, severity, seed in tests if (severity == "ERROR") != seed]
    assert wrong == [], "\n".join(wrong)
