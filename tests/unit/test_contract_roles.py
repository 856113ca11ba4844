"""Field roles and the defaults every contract inherits (issue 8): read from real YAML files."""
from __future__ import annotations

import shutil

import pytest

from pipelines.contracts import ROLES, load_contracts
from pipelines.home import SOURCES_DIR

CONTRACTS = load_contracts()


@pytest.mark.parametrize("feed", sorted(CONTRACTS))
def test_every_column_states_its_role_and_the_key_is_identity(feed):
    text = (SOURCES_DIR / f"{feed}.yml").read_text(encoding="utf-8")
    contract = CONTRACTS[feed]
    assert text.count("role: ") == len(contract.columns), "every column of a sources/ contract says its role"
    for column in contract.columns:
        assert column.role in ROLES
        assert (column.role == "identity") == (column.name in contract.primary_key), column.name


def test_the_defaults_file_is_no_feed_and_its_bounds_are_inherited():
    assert "_defaults" not in CONTRACTS and all(not f.startswith("_") for f in CONTRACTS)
    for contract in CONTRACTS.values():
        assert contract.loss_bounds["file_quarantined_share"] == 0.20
        assert contract.loss_bounds["feed_current_drop_share"] == 0.50


def test_a_contract_overrides_one_bound_and_inherits_the_others(tmp_path):
    sources = tmp_path / "sources"
    shutil.copytree(SOURCES_DIR, sources)
    path = sources / "plants.yml"
    path.write_text(path.read_text(encoding="utf-8") + "loss_bounds: {file_quarantined_share: 0.05}\n",
                    encoding="utf-8")
    bounds = load_contracts(sources)["plants"].loss_bounds
    assert bounds["file_quarantined_share"] == 0.05
    assert bounds["file_quarantined_min_rows"] == 3 and bounds["feed_current_drop_share"] == 0.5


def test_a_contract_without_roles_gets_them_from_key_and_required(tmp_path):
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "x.yml").write_text(
        "feed: x\ntitle_zh: x\ndescription: x\nowner: x\nformat: csv\nfile_patterns: ['*.csv']\ncadence: daily\n"
        "primary_key: [k]\ncolumns:\n  - {name: k, zh: 编号, type: text, required: true}\n"
        "  - {name: d, zh: 日期, type: date, required: true}\n  - {name: s, zh: 状态, type: text}\n",
        encoding="utf-8")
    roles = {c.name: c.role for c in load_contracts(sources)["x"].columns}
    assert roles == {"k": "identity", "d": "structural", "s": "descriptive"}


def test_a_key_column_that_is_not_identity_is_refused(tmp_path):
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "x.yml").write_text(
        "feed: x\ntitle_zh: x\ndescription: x\nowner: x\nformat: csv\nfile_patterns: ['*.csv']\ncadence: daily\n"
        "primary_key: [k]\ncolumns:\n  - {name: k, zh: 编号, type: text, role: descriptive}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="identity"):
        load_contracts(sources)
