"""Which dbt tests block publication (ERROR) and which report (WARN) — the rule, checked test by test (issue 15).

A staging row is what the loader kept, so a dbt test on staging is ERROR exactly when its failure cannot come from
a record the loader was right to keep, i.e. when it means the warehouse (and every mart built on it) is wrong:

* ``not_null`` on a column the contract marks ``required`` and whose failures quarantine the record (role identity
  or structural, sources/README.md): the loader never keeps such a record with the value missing, so a NULL there
  is a broken loader or staging model, and a mart would count a segment without its category, scope or district
  (DOMAIN.md §2 measures lengths per district and scope; a NULL drops the segment from every KPI silently).
* ``relationships`` to a seed that holds the codes the contracts map to (``CODE_SEEDS``: districts, HJ 212 flags
  and factors): the loader maps every spelling to one of them, so a miss means the seed and the contract
  disagree — a district KPI would lose the rows, the valid-data rule would meet a flag it does not know.

Everything else that concerns completeness or references stays WARN: a required-but-descriptive value the loader
keeps with a finding, an optional value left empty, an orphan reference between two feeds (a ``relationships``
test to another staging model; docs/decisions.md: a row is true to its file), a reference a staging model
works out by matching (a task as written matched to a plan item). The expected set of WARN findings on the hand-made fixture is pinned in test_marts_fixture.py.
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


def test_not_null_on_staging_blocks_exactly_when_the_loader_guarantees_the_value():
    manifest = _manifest()
    feeds = _staging_feeds(manifest)
    contracts = load_contracts()
    tests = _staging_tests(manifest, "not_null")
    assert len(tests) > 20, "the staging models lost their not_null tests"
    wrong = []
    for model, column, severity, _ in tests:
        cols = [c for feed in feeds[model] for c in contracts[feed].columns if c.name == column]
        guaranteed = bool(cols) and all(c.required and getattr(c, "strict", True) for c in cols)
        expected = "ERROR" if guaranteed else "WARN"
        if cols and severity != expected:
            why = ("required and quarantined when missing: a NULL means the marts are wrong" if guaranteed
                   else "the loader may keep the record without it: a finding to report")
            wrong.append(f"{model}.{column}: {severity}, should be {expected} ({why})")
    assert wrong == [], "\n".join(wrong)


def test_relationships_on_staging_warn_about_orphans_and_block_on_reference_data():
    manifest = _manifest()
    tests = _staging_tests(manifest, "relationships")
    assert tests, "the staging models lost their relationships tests"
    assert any(seed for *_, seed in tests) and not all(seed for *_, seed in tests)
    wrong = [f"{model}.{column}: {severity}, should be {'ERROR (code seed)' if seed else 'WARN (orphan or match)'}"
             for model, column, severity, seed in tests if (severity == "ERROR") != seed]
    assert wrong == [], "\n".join(wrong)
