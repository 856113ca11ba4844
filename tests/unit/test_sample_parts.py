"""The sample generator's parts on their own: identifiers, messy values, packets, the network."""
import datetime as dt

import numpy as np
import pytest

from pipelines.hj212 import crc_hj212, frame
from pipelines.identifiers import is_valid_credit_code
from pipelines.sample import calibration as cal
from pipelines.sample import mess, network
from tests.support import sample_oracle as verify
from pipelines.sample.common import credit_code
from pipelines.sample.places import DISTRICTS
from pipelines.sample.plants import HEX4, _lines, _spoil_packet
from pipelines.sample.rand import allocate, stream
from pipelines.sample.table import Sheet
from tests.support.realdata import realdata_dir


def test_generated_credit_codes_verify_and_spoiled_ones_do_not():
    rng = stream(1, "test")
    taken = set()
    codes = [credit_code(rng, "331002", kind, taken) for kind in ("91", "92") for _ in range(200)]
    assert all(is_valid_credit_code(c) for c in codes)
    assert len(set(codes)) == len(codes)
    assert any(c[8:10] == "MA" for c in codes) and any(c[8:17].isdigit() for c in codes)
    sheet = Sheet(["credit_code"], {"credit_code": codes})
    spoil = mess.spoil_credit_code()
    bad = [spoil.make(rng, sheet, i) for i in range(len(codes))]
    assert not any(is_valid_credit_code(b) for b in bad)
    assert any(set(b) & set("IOSZ") for b in bad), "some spoils use letters the alphabet excludes"
    assert any(b[:17] == c[:17] for b, c in zip(bad, codes)), "some spoils change only the check character"


@pytest.mark.parametrize("style", mess.XLSX_DATE_STYLES)
def test_every_date_style_reads_back_to_the_same_day(style):
    for day in (dt.date(2024, 5, 6), dt.date(2023, 12, 31), dt.date(2025, 2, 28)):
        value = mess.fmt_date(day, style)
        assert verify.parse_date(value) == day
        if isinstance(value, str):
            assert verify.parse_date(mess.fullwidth(value)) == day


def test_invalid_dates_and_numbers_are_not_readable():
    for text in mess.TYPE_GARBAGE["date"]:
        with pytest.raises(verify.Invalid):
            verify.parse_date(text)
    from pipelines.contracts import load_contracts

    length = load_contracts()["inspections"].column("inspected_length_m")
    for text in mess.TYPE_GARBAGE["decimal"]:
        with pytest.raises(verify.Invalid):
            verify.parse_decimal(text, length)
    for text in mess.TYPE_GARBAGE["pipe_size"]:
        with pytest.raises(verify.Invalid):
            verify.parse_pipe_size(text)


def test_pipe_sizes_in_every_style_and_box_culverts():
    for style in mess.PIPE_SIZE_STYLES:
        assert verify.parse_pipe_size(mess.fmt_pipe_size(400, 0, 0, style)) == (400,)
    assert mess.fmt_pipe_size(400, 1000, 900, "DN") == "1000×900"
    assert verify.parse_pipe_size("1000×900") == (1000, 900)


def test_headers_come_only_from_contract_synonyms_and_fit_the_container():
    from pipelines.contracts import load_contracts

    contract = load_contracts()["census_pipes"]
    names = [c.name for c in contract.columns if c.type != "geometry"]
    seen = set()
    from pipelines.sample.variants import header_candidates

    variants = 0
    for seed in range(30):
        headers = mess.pick_headers(contract, names, stream(seed, "h"), fits=mess.shapefile_ok, ascii_codes=True)
        for name, header in zip(names, headers):
            # a synonym, or (a share of templates, issue 8) a rule variant of one of its synonyms
            if header not in contract.column(name).synonyms:
                assert any(header in header_candidates(contract, name, s, False)
                           for s in contract.column(name).synonyms), (name, header)
                variants += 1
            assert len(header.encode("utf-8")) <= 10
        seen.update(mess.pick_headers(contract, names, stream(seed, "g")))
    assert len(seen) > len(names), "districts spell some headers differently"
    gbk = mess.pick_headers(load_contracts()["drainage_permits"],
                            [c.name for c in load_contracts()["drainage_permits"].columns], stream(3, "x"),
                            fits=mess.gbk_ok)
    assert all(mess.gbk_ok(h) for h in gbk)


def test_vectorised_packets_equal_the_reference_framing():
    rng = stream(7, "packets")
    n = 50
    times = np.datetime64("2025-06-01T00:00:00") + (np.arange(n) * 3600).astype("timedelta64[s]")
    values = np.abs(rng.normal(10, 5, (n, 6)))
    flags = np.where(rng.random((n, 6)) < 0.2, "M", "N").astype(object)
    lines = _lines(rng, "TZ33100201WS001", "2061", times, times + 3700, values, flags)
    for line in lines:
        body = line[:-2]
        segment = body[6:-4]
        assert line.endswith("\r\n")
        assert line == frame(segment)
        assert int(body[2:6]) == len(segment)
        assert body[-4:] == f"{crc_hj212(segment.encode('ascii')):04X}"


def test_the_standard_test_vector_checks_with_the_verifier():
    vector = ("##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;"
              "CP=&&RtdInterval=30&&1C80")
    assert verify.check_packets([vector]) == [set()]
    assert verify.check_packets([vector[:-4] + "0759"]) == [{(None, "hj212_crc")}]   # CRC-16/MODBUS


@pytest.mark.parametrize("kind", ["hj212_crc", "hj212_length", "hj212_frame"])
def test_each_packet_corruption_breaks_exactly_its_rule(kind):
    rng = stream(11, kind)
    times = np.datetime64("2025-06-01T00:00:00") + (np.arange(200) * 3600).astype("timedelta64[s]")
    lines = _lines(rng, "TZ33100201WS002", "2061", times, times + 3700, np.full((200, 6), 12.5),
                   np.full((200, 6), "N", dtype=object))
    spoiled = [_spoil_packet(rng, line, kind) for line in lines]
    assert all(s != line for s, line in zip(spoiled, lines))
    assert verify.check_packets([s[:-2] for s in spoiled]) == [{(None, kind)}] * len(lines)
    if kind == "hj212_frame":
        # a truncated packet must not end in something that looks like a CRC
        assert not any(s[:-2][-4:].isalnum() and all(ch in "0123456789ABCDEF" for ch in s[:-2][-4:])
                       for s in spoiled)
    assert len(HEX4) == 65536


def test_tree_sums_match_a_plain_walk():
    rng = stream(5, "tree")
    parent, *_ = network.grow_tree(rng, 3000, 0.0, 0.0, 0.3)
    assert parent[0] == -1 and np.all(parent[1:] < np.arange(1, 3000)) and np.all(parent[1:] >= 0)
    own = rng.random(3000)
    expected = np.zeros(3000)
    size = np.ones(3000, dtype=int)
    for i in range(3000):
        expected[i] = own[i] + (expected[parent[i]] if parent[i] >= 0 else 0)
    for i in range(2999, 0, -1):
        size[parent[i]] += size[i]
    assert np.allclose(network.path_sum(parent, own), expected)
    assert np.array_equal(network.subtree_sizes(parent), size)


@pytest.fixture(scope="module")
def district_network():
    from pipelines.sample.geo import Projector

    projector = Projector()
    d = DISTRICTS[6]
    x, y = projector.to_xy(d.lon + 0.02, d.lat)
    plants = [{"x": float(x[0]), "y": float(y[0]), "capacity": 10.0, "industrial": False},
              {"x": float(x[0]) + 3000, "y": float(y[0]) - 2500, "capacity": 4.0, "industrial": True}]
    net = network.build(stream(3, "net"), d, 4000, plants, lambda lo, la: tuple(float(v[0]) for v in
                                                                                projector.to_xy(lo, la)))
    projector.close()
    return net


def test_the_network_is_a_forest_draining_downhill_to_the_plants(district_network):
    net = district_network
    assert net.n_segments == 4000 and net.n_nodes == 4002
    assert list(net.node_type[net.roots]) == ["进厂井", "进厂井"]
    # every node reaches a root by following its parent
    node = np.arange(net.n_nodes)
    for _ in range(net.n_nodes):
        node = np.where(net.parent[node] >= 0, net.parent[node], node)
    assert set(node.tolist()) == set(net.roots.tolist())
    assert np.all(net.start_invert > net.end_invert)
    # a pipe enters its downstream manhole at or above the pipe that leaves it
    assert np.all(net.end_invert >= net.bottom[net.seg_down] - 1e-9)
    depth = net.ground - net.bottom
    assert depth.min() >= 0.7 and depth.max() <= 30
    assert np.median(net.length) == pytest.approx(cal.SEGMENT_LENGTH_MEDIAN_M, rel=0.1)
    # pipes get bigger downstream: the segments entering a plant are the largest
    into_roots = np.isin(net.seg_down, net.roots)
    assert np.all((net.diameter[into_roots] >= 600) | (net.box_w[into_roots] > 0))
    assert net.industrial[net.tree[net.seg_node] == 1].all(), "an industrial plant's catchment is a park"


def test_allocate_splits_exactly():
    for total in (0, 1, 7, 120000):
        parts = allocate(total, [d.weight for d in DISTRICTS])
        assert parts.sum() == total and (parts >= 0).all()


def test_calibration_constants_match_the_real_data():
    real = cal.derive(realdata_dir())     # fails (never skips) when ../shared/realdata is missing
    assert cal.SEGMENT_LENGTH_MEDIAN_M == pytest.approx(real["segment_length_median_m"], rel=0.05)
    assert cal.SEGMENT_LENGTH_SIGMA == pytest.approx(real["segment_length_sigma"], rel=0.15)
    rel = real["rate_relative_to_rc"]
    assert cal.MATERIAL_RATE["BRICK"] == pytest.approx(rel["CLAY"], rel=0.05)
    assert cal.MATERIAL_RATE["PVC"] == pytest.approx(rel["PVC"], rel=0.1)
    assert cal.MATERIAL_RATE["HDPE"] == pytest.approx(rel["TRUSS"], rel=0.1)
    assert cal.MATERIAL_RATE["DI"] == pytest.approx(rel["other"], rel=0.1)
    for group, counts in (("RC", "RC"), ("CLAY", "CLAY")):
        got = {k: v for k, v in real["code_counts"][counts].items() if v}
        assert cal.PACP_CODE_COUNTS[group] == got
    assert cal.BOD_DAILY_CV == pytest.approx(real["bod_daily_cv"], rel=0.05)
    assert cal.BOD_AR1 == pytest.approx(real["bod_ar1"], rel=0.05)
    assert cal.COD_PER_BOD == pytest.approx(real["cod_per_bod_uci"], rel=0.05)
    assert cal.COD_PER_BOD == pytest.approx(real["cod_per_bod_melbourne"], rel=0.05)
    assert cal.SS_PER_BOD == pytest.approx(real["ss_per_bod_uci"], rel=0.05)
