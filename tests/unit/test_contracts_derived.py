"""What the contracts say is said once: the feed list and the dbt sources are derived from sources/*.yml."""
from __future__ import annotations

import shutil

import yaml

from pipelines.contracts import FEEDS, load_contracts
from pipelines.home import SOURCES_DIR
from pipelines.transform import sources


def test_the_feed_list_is_the_contracts():
    files = sorted(p.stem for p in SOURCES_DIR.glob("*.yml") if not p.name.startswith("_"))
    assert sorted(FEEDS) == files == sorted(load_contracts())


def test_checked_in_dbt_sources_are_those_the_contracts_generate():
    # fails when a contract changed and `python -m pipelines.transform.sources` was not re-run
    assert sources.main(["--check"]) == 0


def test_check_mode_fails_on_a_stale_file_and_leaves_it_alone(tmp_path):
    stale = tmp_path / "_raw__sources.yml"
    stale.write_text(sources.SOURCES_YAML.read_text(encoding="utf-8").replace("管段编号", "管段号码"), encoding="utf-8")
    before = stale.read_bytes()
    assert sources.main(["--check", "--output", str(stale)]) == 1
    assert stale.read_bytes() == before
    assert sources.main(["--output", str(stale)]) == 0
    assert stale.read_text(encoding="utf-8") == sources.SOURCES_YAML.read_text(encoding="utf-8")


def test_a_new_column_in_a_contract_reaches_the_dbt_sources(tmp_path):
    """A column added to a contract (here: 井盖材质 on the manholes) appears in the generated sources with its
    Chinese name and unit; `--check` against the checked-in file then fails until it is regenerated."""
    copy = tmp_path / "sources"
    shutil.copytree(SOURCES_DIR, copy)
    contract = copy / "census_manholes.yml"
    raw = yaml.safe_load(contract.read_text(encoding="utf-8"))
    raw["columns"].append({"name": "cover_load_kn", "zh": "井盖承载力", "type": "decimal", "unit": "kN"})
    contract.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")

    doc = yaml.safe_load(sources.render(copy))
    table = next(t for t in doc["sources"][0]["tables"] if t["name"] == "census_manholes_current")
    assert {"name": "cover_load_kn", "description": "井盖承载力（kN）"} in table["columns"]
    assert sources.main(["--check", "--sources", str(copy)]) == 1


def test_every_feed_is_a_source_with_freshness_from_its_cadence():
    doc = yaml.safe_load(sources.SOURCES_YAML.read_text(encoding="utf-8"))
    tables = {t["meta"]["feed"]: t for t in doc["sources"][0]["tables"] if t["name"].endswith("_current")}
    history = {t["name"] for t in doc["sources"][0]["tables"] if not t["name"].endswith("_current")}
    assert set(tables) == set(FEEDS) == history
    assert "freshness" not in tables["alert_acks"]["config"]   # on demand: never overdue
    # a daily feed is overdue after 2 days, a monthly one after 45, a yearly one after 400 (contracts.py)
    assert tables["plant_online"]["config"]["freshness"]["warn_after"] == {"count": 2, "period": "day"}
    assert tables["drainage_permits"]["config"]["freshness"]["warn_after"] == {"count": 45, "period": "day"}
    assert tables["plants"]["config"]["freshness"]["warn_after"] == {"count": 400, "period": "day"}
