"""Issue 8 on small real files: rows kept, findings, re-mapping after a synonym is added, missing columns,
header variants, and the loss gate. Expected values are worked out by hand from the rows written here."""
from __future__ import annotations

import shutil

import pytest
from dagster import AssetCheckSeverity

from pipelines import duck
from pipelines.contracts import load_contracts
from pipelines.home import SOURCES_DIR, DataHome
from pipelines.ingest import checks, ingest_feed
from pipelines.ingest.report import labels_text, summary_lines
from tests.fixtures.ingest_files import (
    CREDIT_A, DRAINAGE_HEADER, drainage_row, query, write_csv, write_geojson,
)


@pytest.fixture
def home(tmp_path):
    return DataHome(tmp_path / "home").ensure()


def load(home, feed, contracts=None, run_id="run-1"):
    con = duck.connect(home.warehouse)
    try:
        return ingest_feed((contracts or load_contracts())[feed], home, con, run_id, strict=False)
    finally:
        con.close()


def findings(home, kinds=("unknown_label", "invalid_value", "missing_value")):
    return sorted(query(home, "SELECT field, kind, value, count, rows_quarantined, resolved_as FROM audit.file_findings "
                              f"WHERE kind IN ({', '.join('?' for _ in kinds)})", list(kinds)))


# ---- descriptive failures keep their rows -----------------------------------------------------------
def test_unknown_descriptive_labels_keep_the_row_with_the_text_and_a_count(home):
    rows = [DRAINAGE_HEADER,
            drainage_row(1, holder_type="洗浴", status="作废"),     # two labels no contract knows
            drainage_row(2, holder_type="洗浴"),
            drainage_row(3, status="注 销"),                        # a space inside: 注销 by rule
            drainage_row(4, holder_type="（餐饮）"),                 # brackets around a label: not by rule
            drainage_row(5)]
    write_csv(home.landing_for("drainage_permits") / "permits.csv", rows)
    [file] = load(home, "drainage_permits").files
    # all five kept; rows 1, 2 and 4 hold a value the contract could not read
    assert (file.rows_read, file.rows_loaded, file.rows_quarantined, file.rows_unmapped) == (5, 5, 0, 3)
    got = query(home, "SELECT permit_no, holder_type, status, _unmapped FROM raw.drainage_permits ORDER BY 1")
    assert got == [
        ("DP-331002-00001", "other", None, {"holder_type": "洗浴", "status": "作废"}),   # 排水户类型 declares other
        ("DP-331002-00002", "other", "valid", {"holder_type": "洗浴"}),
        ("DP-331002-00003", "catering", "revoked", None),
        ("DP-331002-00004", "other", "valid", {"holder_type": "（餐饮）"}),
        ("DP-331002-00005", "catering", "valid", None),
    ]
    assert findings(home) == [("holder_type", "unknown_label", "(餐饮)", 1, 0, None),
                              ("holder_type", "unknown_label", "洗浴", 2, 0, None),
                              ("status", "unknown_label", "作废", 1, 0, None)]
    assert query(home, "SELECT rows_unmapped, round(unmapped_rate, 2), quarantine_rate FROM audit.file_registry") == [
        (3, 0.6, 0.0)]


def test_adding_a_synonym_remaps_the_stored_rows_without_redelivery(home, tmp_path):
    write_csv(home.landing_for("drainage_permits") / "permits.csv",
              [DRAINAGE_HEADER, drainage_row(1, holder_type="洗浴", status="作废"), drainage_row(2, holder_type="洗浴")])
    load(home, "drainage_permits")
    [(hash_before,)] = query(home, "SELECT _row_hash FROM raw.drainage_permits WHERE permit_no LIKE '%2'")

    # A data engineer teaches the contract the two labels: one line each in sources/drainage_permits.yml.
    sources = tmp_path / "sources"
    shutil.copytree(SOURCES_DIR, sources)
    contract = sources / "drainage_permits.yml"
    text = contract.read_text(encoding="utf-8")
    text = text.replace("个体工商户: individual, 其他: other}", "个体工商户: individual, 其他: other, 洗浴: hotel}")
    text = text.replace("values: {有效: valid, 正常: valid, 注销: revoked,", "values: {有效: valid, 正常: valid, 作废: revoked, 注销: revoked,")
    contract.write_text(text, encoding="utf-8")
    learnt = load_contracts(sources)

    result = load(home, "drainage_permits", learnt, run_id="run-2")
    assert result.files == []                               # nothing delivered again
    assert result.remapped == {"holder_type": 2, "status": 1}
    assert query(home, "SELECT permit_no, holder_type, status, _unmapped, _is_current FROM raw.drainage_permits "
                       "ORDER BY 1") == [("DP-331002-00001", "hotel", "revoked", None, True),
                                         ("DP-331002-00002", "hotel", "valid", None, True)]
    # the findings follow: resolved, with the code they now map to; nothing left to list
    assert findings(home) == [("holder_type", "unknown_label", "洗浴", 2, 0, "hotel"),
                              ("status", "unknown_label", "作废", 1, 0, "revoked")]
    con = duck.connect(home.warehouse, read_only=True)
    try:
        assert labels_text(con, learnt, headers=False).startswith("没有未识别的取值")
        assert "已映射为 hotel" in labels_text(con, learnt, include_resolved=True, headers=False)
    finally:
        con.close()

    # the re-mapped row hashes as a fresh load would: the same rows sent again (other bytes) change nothing
    [(hash_after,)] = query(home, "SELECT _row_hash FROM raw.drainage_permits WHERE permit_no LIKE '%2'")
    assert hash_after != hash_before
    write_csv(home.landing_for("drainage_permits") / "permits_again.csv",
              [DRAINAGE_HEADER, drainage_row(1, holder_type="洗浴", status="作废"), drainage_row(2, holder_type="洗浴"),
               [""] * len(DRAINAGE_HEADER)])
    [again] = load(home, "drainage_permits", learnt, run_id="run-3").files
    assert (again.rows_new, again.rows_changed, again.rows_unchanged) == (0, 0, 2)


# ---- columns ------------------------------------------------------------------------------------------
def test_a_missing_descriptive_column_loads_null_with_a_finding(home):
    header = [h for h in DRAINAGE_HEADER if h not in ("排水户类型", "状态")]
    rows = [header] + [[c for h, c in zip(DRAINAGE_HEADER, drainage_row(i)) if h in header] for i in (1, 2)]
    write_csv(home.landing_for("drainage_permits") / "narrow.csv", rows)
    [file] = load(home, "drainage_permits").files
    assert (file.status, file.rows_loaded) == ("loaded", 2)
    assert query(home, "SELECT holder_type, status FROM raw.drainage_permits") == [(None, None)] * 2
    assert sorted(query(home, "SELECT field, count FROM audit.file_findings WHERE kind = 'missing_column'")) == [
        ("holder_type", 2), ("status", 2)]


def test_a_missing_structural_column_rejects_the_file_naming_it_and_the_headers_found(home):
    header = [h for h in DRAINAGE_HEADER if h != "接驳检查井编号"]
    rows = [header, [c for h, c in zip(DRAINAGE_HEADER, drainage_row(1)) if h in header]]
    write_csv(home.landing_for("drainage_permits") / "no_manhole.csv", rows)
    [file] = load(home, "drainage_permits").files
    assert file.status == "rejected"
    assert "「接驳检查井编号」(connection_manhole_id)" in file.error and "许可排水量（立方米/日）" in file.error
    assert "connection_manhole_id (接驳检查井编号)" in file.error and "headers found" in file.error


def test_header_variants_of_a_census_export_are_mapped_and_reported(home):
    """所在区县 for 区县, 管径（毫米）, a line break inside 起点\\n井号, English `End Manhole ID`, and a 备注
    column no contract has."""
    props = {"管段编号": "V-1", "起点\n井号": "M1", "End Manhole ID": "M2", "管道类别": "污水", "管径（毫米）": "400",
             "区域类型": "建成区", "所在区县": "椒江区", "备注": "新建"}
    write_geojson(home.landing_for("census_pipes") / "variants.geojson",
                  [(props, [[121.40, 28.60], [121.401, 28.601]])], crs="EPSG:4490")
    [file] = load(home, "census_pipes").files
    assert (file.status, file.rows_loaded) == ("loaded", 1)
    assert query(home, "SELECT start_manhole_id, end_manhole_id, diameter_mm, district_code FROM raw.census_pipes") == [
        ("M1", "M2", 400, "331002")]
    got = sorted(query(home, "SELECT kind, field, value FROM audit.file_findings WHERE kind LIKE '%header%'"),
                 key=lambda r: (r[0], r[1] or ""))
    assert got == [("header_variant", "district_code", "所在区县"), ("header_variant", "end_manhole_id", "End Manhole ID"),
                   ("header_variant", "pipe_size", "管径（毫米）"), ("header_variant", "start_manhole_id", "起点\n井号"),
                   ("unmatched_header", None, "备注")]


# ---- the loss gate ------------------------------------------------------------------------------------
def _census(home, name, district_header="区县", category="污水", n=10):
    features = [({"管段编号": f"{name}-{i}", "起点井号": f"M{i}", "终点井号": f"M{i + 1}", "管道类别": category,
                  "区域类型": "建成区", district_header: "路桥区"}, [[121.40 + i * 1e-3, 28.5], [121.401 + i * 1e-3, 28.5]])
                for i in range(n)]
    return write_geojson(home.landing_for("census_pipes") / f"{name}.geojson", features, crs="EPSG:4490")


def _gate(home, result, before=None, after=None):
    con = duck.connect(home.warehouse, read_only=True)
    try:
        return checks.loss_bounds(con, load_contracts()["census_pipes"],
                                  [f.file_id for f in result.files if f.file_id], before, after)
    finally:
        con.close()


def test_a_district_census_lost_to_a_structural_label_fails_the_gate_naming_the_file(home):
    """Ten segments whose 管道类别 nobody defined (污水干线): the category is structural, so all ten are
    quarantined: 10/10 > 20 % and ≥ 3 records. A second file loses 2 of 10 (20 %, not more): it passes."""
    _census(home, "路桥区_管段", category="污水干线")
    path = _census(home, "椒江区_管段")
    doc = path.read_text(encoding="utf-8").replace('"污水"', '"雨污"', 2)
    path.write_text(doc, encoding="utf-8")
    result = load(home, "census_pipes")
    assert sorted((f.file_name, f.rows_quarantined) for f in result.files) == [
        ("椒江区_管段.geojson", 2), ("路桥区_管段.geojson", 10)]
    outcome = _gate(home, result)
    assert not outcome.passed and outcome.severity == AssetCheckSeverity.ERROR
    assert "路桥区_管段.geojson" in outcome.description and "10/10" in outcome.description
    assert "「管道类别」不在允许的取值范围 10 行（如「污水干线」）" in outcome.description
    assert "sources/census_pipes.yml" in outcome.description                 # the fix names the contract
    assert "椒江区_管段.geojson" not in outcome.description
    con = duck.connect(home.warehouse, read_only=True)
    try:
        text = "\n".join(summary_lines(con, load_contracts(), "run-1"))
    finally:
        con.close()
    assert "✗ [census_pipes] 文件「路桥区_管段.geojson」" in text and "· [census_pipes] 文件「椒江区_管段.geojson」" in text


def test_a_rejected_census_fails_the_gate(home):
    _census(home, "路桥区_管段", district_header="区划")                       # 区县 is structural and required
    result = load(home, "census_pipes")
    assert [f.status for f in result.files] == ["rejected"]
    outcome = _gate(home, result)
    assert not outcome.passed and "被拒收" in outcome.description and "路桥区_管段.geojson" in outcome.description


def test_a_feed_whose_current_records_drop_by_more_than_half_fails(home):
    result = load(home, "census_pipes")                                        # nothing delivered
    assert _gate(home, result, before=100, after=50).passed                     # half: not more than half
    failed = _gate(home, result, before=100, after=49)
    assert not failed.passed and "100" in failed.description and "49" in failed.description
