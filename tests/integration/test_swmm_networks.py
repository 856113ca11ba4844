"""Flow direction and tracing on two real drainage networks (issue 9, point 1).

The SWMM models in ``../shared/realdata`` are written out as census exports by tests/fixtures/swmm_census.py
(the mapping of node names, outfalls, storage and dry-weather flow is documented there), loaded through the
real loader (``ingest_feed``) into a real DuckDB warehouse, and the real dbt project is built on it through
Dagster. Three districts share the warehouse: Chaohu (黄岩区), Chico Sur as it is, a storm network (路桥区),
and Chico Sur labelled combined with a plant at its outfall and a permit at every junction (温岭市).

The expectation is computed here, independently of the census files and of the models: a plain walk in
Python over the SWMM conduits, in the direction the model gives them (the oracle):
- a node's outlets are the outlet nodes (outfalls, storage without an outgoing conduit, the plant inlet) that
  its conduits reach, and a node that reaches only conduit ends without an outlet (a junction with no
  outgoing conduit, as four in Chico Sur) reaches none;
- a node traces to the plant when the plant's node is reachable over sewage and combined conduits (a
  conduit carries what its upstream node carries); a node on a storm path does not.
Adverse slopes: a conduit whose invert at its downstream end (node invert + OutOffset) is more than
0.01 m above its upstream end (node invert + InOffset). Measured on the models: Chaohu 37 of 134 conduits
(18 of its 60 sewage and combined conduits, the ones the old invert rule reversed), Chico Sur 1 of 510.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date

import pytest

from pipelines import duck
from pipelines.contracts import load_contracts
from pipelines.home import DataHome
from tests.fixtures import swmm_census as sc

REPORTING_DATE = date(2025, 6, 30)
TOLERANCE_M = 0.01        # dbt var invert_tolerance_m
CENSUS_FEEDS = ("census_manholes", "census_pipes", "plants", "drainage_permits")


@pytest.fixture(scope="module")
def models():
    try:
        root = sc.realdata_dir()
    except FileNotFoundError as exc:
        pytest.fail(str(exc))
    chaohu = root / "chaohu-swmm" / "chaohu.inp"
    chico = root / "redchicosur-swmm" / "RedChicoSur_V05.inp"
    for path in (chaohu, chico):
        if not path.is_file():
            pytest.fail(f"真实 SWMM 模型缺失 (real SWMM model missing): {path}")
    return {
        "chaohu": (sc.parse_inp(chaohu), sc.chaohu_mapping()),
        "redchicosur_storm": (sc.parse_inp(chico), sc.redchicosur_storm_mapping()),
        "redchicosur_combined": (sc.parse_inp(chico), sc.redchicosur_combined_mapping()),
    }


@pytest.fixture(scope="module")
def built(models, tmp_path_factory):
    from dagster import materialize

    from pipelines.ingest.loader import ingest_feed
    from pipelines.resources import WarehouseResource
    from pipelines.transform.assets import dbt_models, dbt_resource

    home = DataHome.resolve(tmp_path_factory.mktemp("swmm_home")).ensure()
    exports = {key: sc.write_census(model, mapping, home.landing) for key, (model, mapping) in models.items()}
    duck.install_extensions()
    con = duck.connect(home.warehouse)
    try:
        results = {feed: ingest_feed(contract, home, con, run_id="swmm")
                   for feed, contract in load_contracts().items()}
    finally:
        con.close()
    result = materialize(
        [dbt_models], raise_on_error=False,
        resources={"dbt": dbt_resource(home), "warehouse": WarehouseResource(path=str(home.warehouse))},
        run_config={"ops": {"dbt_models": {"config": {"reporting_date": REPORTING_DATE.isoformat()}}}})
    return home, exports, results, result


def _rows(home, sql, params=()):
    con = duck.connect(home.warehouse, read_only=True, extensions=())
    try:
        cur = con.execute(sql, list(params))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        con.close()


# ------------------------------------------------------------------------------------------------------
# The oracle: a walk over the SWMM links as the model draws them
# ------------------------------------------------------------------------------------------------------
def _downstream(model, conduits):
    out = defaultdict(list)
    for c in conduits:
        out[c.from_node].append(c.to_node)
    return out


def _reach(start, out):
    seen, stack = {start}, [start]
    while stack:
        for nxt in out[stack.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def oracle(model, mapping):
    """Per SWMM node: the outlets it reaches (all conduits), whether it reaches only dead ends, and the plant
    it traces to over sewage and combined conduits."""
    all_out = _downstream(model, model.conduits)
    wet = [c for c in model.conduits if sc.conduit_category(model, mapping, c) in ("sewage", "combined")]
    wet_out = _downstream(model, wet)
    has_outflow = {c.from_node for c in model.conduits}
    outlet_nodes = set(model.outfalls) | {s for s in model.storages if s not in has_outflow}
    out = {}
    for node in model.nodes:
        reached = _reach(node, all_out)
        terminals = {n for n in reached if n not in has_outflow}
        plant = (mapping.plant_id if mapping.plant_node and mapping.plant_node in _reach(node, wet_out)
                 else None)
        out[node] = {"outlets": terminals & outlet_nodes, "dead_ends": terminals - outlet_nodes, "plant": plant}
    return out


def adverse_conduits(model):
    return [c.name for c in model.conduits
            if (model.invert(c.to_node) + c.out_offset_m) - (model.invert(c.from_node) + c.in_offset_m) > TOLERANCE_M]


# ------------------------------------------------------------------------------------------------------
# Tests
# ------------------------------------------------------------------------------------------------------
def test_census_exports_load_whole_and_build(built):
    """Every feature of the three exports is loaded (the contract knows 排放口, 调蓄池, 进厂井, B×H culverts,
    the translated coordinates and elevations) and dbt builds with no blocking check failing."""
    home, exports, results, result = built
    for feed in CENSUS_FEEDS:
        feed_result = results[feed]
        assert feed_result.rows_quarantined == 0, (feed, _rows(home, f"SELECT reasons FROM quarantine.{feed} LIMIT 5"))
        assert feed_result.rows_loaded > 0, feed
    assert result.success
    assert not [e.check_name for e in result.get_asset_check_evaluations()
                if not e.passed and e.severity.value == "ERROR"]


@pytest.mark.parametrize("key", ["chaohu", "redchicosur_storm", "redchicosur_combined"])
def test_every_node_reaches_the_outlets_its_links_reach(built, models, key):
    """Manhole → outlet in the warehouse equals the oracle's for every node of the model; nodes whose
    conduits end at a junction without outflow reach no outlet and that junction is listed as a dead end."""
    home, exports, _, _ = built
    model, mapping = models[key]
    expected = oracle(model, mapping)
    found = defaultdict(set)
    for r in _rows(home, "SELECT manhole_id, outlet_id FROM intermediate.int_manhole_outlets"):
        found[r["manhole_id"]].add(r["outlet_id"])
    dead_ends = {r["object_id"] for r in _rows(
        home, "SELECT object_id FROM marts.network_anomalies WHERE anomaly_kind = 'dead_end' AND district_code = ?",
        [mapping.district_code])}
    wrong = {}
    for node, exp in expected.items():
        want = {mapping.node_id(o) for o in exp["outlets"]}
        if found.get(mapping.node_id(node), set()) != want:
            wrong[node] = (sorted(found.get(mapping.node_id(node), set())), sorted(want))
    assert not wrong, f"{len(wrong)} of {len(expected)} nodes trace wrong: {dict(list(wrong.items())[:5])}"
    assert dead_ends == {mapping.node_id(n) for exp in expected.values() for n in exp["dead_ends"]}
    # the census is drawn along the flow: nothing is reversed
    assert not _rows(home, "SELECT * FROM marts.network_anomalies WHERE anomaly_kind = 'reversed_segment' "
                           "AND district_code = ?", [mapping.district_code])


@pytest.mark.parametrize("key", ["chaohu", "redchicosur_combined"])
def test_every_discharger_traces_to_the_plant_its_links_reach(built, models, key):
    """Chaohu: 36 dry-weather-flow nodes, 14 on sewage or combined paths (they reach the plant at WSC) and 22
    on storm paths (they end at the pumping stations' storage and must not reach the plant). Chico Sur
    labelled combined: a permit at each of its 509 junctions; those behind its four dead-end junctions reach
    no plant."""
    home, exports, _, _ = built
    model, mapping = models[key]
    expected = oracle(model, mapping)
    export = exports[key]
    profile = {r["connection_manhole_id"]: r for r in _rows(
        home, "SELECT connection_manhole_id, downstream_plant_id FROM marts.discharger_profile "
              "WHERE district_code = ?", [mapping.district_code])}
    assert len(profile) == len(export.permits)
    wrong = {node: (profile[mapping.node_id(node)]["downstream_plant_id"], expected[node]["plant"])
             for node in export.permits
             if profile[mapping.node_id(node)]["downstream_plant_id"] != expected[node]["plant"]}
    assert not wrong, f"{len(wrong)} of {len(export.permits)} dischargers trace wrong: {dict(list(wrong.items())[:5])}"
    to_plant = sum(1 for node in export.permits if expected[node]["plant"])
    if key == "chaohu":
        assert (len(export.permits), to_plant) == (36, 14)
    # dischargers connected to storm pipes only are listed (排水户接入雨水管网)
    storm_nodes = {n for n in model.nodes
                   if all(sc.conduit_category(model, mapping, c) == "storm"
                          for c in model.conduits if n in (c.from_node, c.to_node))
                   and any(n in (c.from_node, c.to_node) for c in model.conduits)}
    listed = {r["related_id"] for r in _rows(
        home, "SELECT related_id FROM marts.network_anomalies WHERE anomaly_kind = 'discharger_on_storm' "
              "AND district_code = ?", [mapping.district_code])}
    assert listed == {mapping.node_id(n) for n in export.permits if n in storm_nodes}
    if key == "chaohu":
        assert len(listed) == 22


@pytest.mark.parametrize("key", ["chaohu", "redchicosur_combined"])
def test_every_sewage_and_combined_segment_traces_to_the_plant(built, models, key):
    home, _, _, _ = built
    model, mapping = models[key]
    expected = oracle(model, mapping)
    segments = {r["segment_id"]: r for r in _rows(
        home, "SELECT segment_id, pipe_category, downstream_plant_id FROM marts.pipe_segments WHERE district_code = ?",
        [mapping.district_code])}
    assert len(segments) == len(model.conduits)
    for c in model.conduits:
        seg = segments[mapping.segment_id(c.name)]
        want = expected[c.to_node]["plant"] if seg["pipe_category"] in ("sewage", "combined") else None
        assert seg["downstream_plant_id"] == want, (c.name, seg, want)


@pytest.mark.parametrize("key", ["chaohu", "redchicosur_storm"])
def test_adverse_slopes_are_reported(built, models, key, capsys):
    """Every conduit rising more than 0.01 m along the flow is an adverse_slope finding, and only those."""
    home, _, _, _ = built
    model, mapping = models[key]
    expected = {mapping.segment_id(name) for name in adverse_conduits(model)}
    found = {r["object_id"] for r in _rows(
        home, "SELECT object_id FROM marts.network_anomalies WHERE anomaly_kind = 'adverse_slope' "
              "AND district_code = ?", [mapping.district_code])}
    assert found == expected
    flagged = {r["segment_id"] for r in _rows(
        home, "SELECT segment_id FROM marts.pipe_segments WHERE slope_class = 'adverse' AND district_code = ?",
        [mapping.district_code])}
    assert flagged == expected
    with capsys.disabled():
        print(f"\n{key}: {len(expected)} of {len(model.conduits)} conduits have an adverse slope (倒坡)")
    assert len(expected) == {"chaohu": 37, "redchicosur_storm": 1}[key]


def test_pumping_station_storage_and_outfalls_are_outlets(built):
    """Chaohu's storage forebays (no outgoing conduit) and its plant inlet are outlets; the river outfalls
    reached only by pumps are outlets with no pipe at all (isolated manholes in a gravity census)."""
    home, _, _, _ = built
    outlets = {r["manhole_id"]: r["outlet_kind"] for r in _rows(
        home, "SELECT manhole_id, outlet_kind FROM intermediate.int_network_outlets WHERE district_code = '331003'")}
    assert outlets == {"WSC": "plant_inlet", "CC-storage": "storage", "JK-storage": "storage",
                       "CC-1": "outfall", "CC-2": "outfall", "JK-1": "outfall", "JK-2": "outfall"}
    isolated = {r["object_id"] for r in _rows(
        home, "SELECT object_id FROM marts.network_anomalies WHERE anomaly_kind = 'isolated_manhole' "
              "AND district_code = '331003'")}
    assert isolated == {"CC-1", "CC-2", "JK-1", "JK-2"}
