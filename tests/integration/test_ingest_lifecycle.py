"""What happens to files over time: re-runs, re-sent and renamed copies, corrections (history), the daily
append of time series, and the Dagster asset with its accounting guard."""
import os
import shutil
from datetime import date

import pytest
from dagster import materialize

from pipelines.contracts import load_contracts
from pipelines.home import DataHome
from pipelines.ingest import history
from pipelines.ingest.assets import build_ingest_assets
from pipelines.resources import HomeResource, WarehouseResource
from tests.fixtures.ingest_files import (
    DRAINAGE_HEADER, drainage_row, ingest, packet, query, write_csv, write_lines,
)

CONTRACTS = load_contracts()
LAB_HEADER = ["厂站编号", "采样日期", "采样点", "BOD5(mg/L)", "COD", "SS", "氨氮", "总氮", "总磷"]


@pytest.fixture
def home(tmp_path):
    return DataHome(tmp_path / "home").ensure()


def landing(home, feed):
    return home.landing_for(feed)


def test_second_run_loads_nothing_and_a_renamed_copy_is_skipped(home):
    path = write_csv(landing(home, "drainage_permits") / "2025-01.csv",
                     [DRAINAGE_HEADER] + [drainage_row(i) for i in range(1, 6)])
    first = ingest(home, "drainage_permits", run_id="r1")
    assert (first.files_loaded, first.rows_loaded) == (1, 5)
    archived = home.archive / "drainage_permits" / "2025-01.csv"
    assert archived.exists() and not path.exists()

    assert ingest(home, "drainage_permits", run_id="r2").files == []          # nothing new in landing

    shutil.copy(archived, landing(home, "drainage_permits") / "2025-01(1).csv")   # re-sent under another name
    shutil.copy(archived, landing(home, "drainage_permits") / "2025-01.csv")      # and under the same name
    third = ingest(home, "drainage_permits", run_id="r3")
    assert sorted((f.file_name, f.status) for f in third.files) == [
        ("2025-01(1).csv", "skipped_duplicate"), ("2025-01.csv", "skipped_duplicate")]
    assert third.rows_read == third.rows_loaded == 0
    assert query(home, "SELECT count(*), count(DISTINCT _file_id) FROM raw.drainage_permits") == [(5, 1)]
    assert query(home, "SELECT status, duplicate_of, run_id FROM audit.file_registry ORDER BY file_id") == [
        ("loaded", None, "r1"), ("skipped_duplicate", 1, "r3"), ("skipped_duplicate", 1, "r3")]
    assert len(list((home.archive / "drainage_permits").iterdir())) == 3      # nothing overwritten


def test_a_correction_supersedes_and_history_keeps_the_old_version(home):
    write_csv(landing(home, "drainage_permits") / "2025-01.csv",
              [DRAINAGE_HEADER] + [drainage_row(i) for i in range(1, 4)], mtime=1_700_000_000)
    # Sent in the same delivery, but later: the correction of permit 2 and an unchanged permit 3.
    write_csv(landing(home, "drainage_permits") / "2025-01更正.csv",
              [DRAINAGE_HEADER, drainage_row(2, volume="80", status="注销"), drainage_row(3)], mtime=1_700_000_100)
    result = ingest(home, "drainage_permits")
    assert [(f.file_name, f.rows_new, f.rows_changed, f.rows_unchanged) for f in result.files] == [
        ("2025-01.csv", 3, 0, 0), ("2025-01更正.csv", 0, 1, 1)]

    versions = query(home, "SELECT permitted_volume_m3d, status, _source_file, _is_current, _valid_to IS NULL, "
                           "_valid_from FROM raw.drainage_permits WHERE permit_no = 'DP-331002-00002' "
                           "ORDER BY _valid_from")
    assert [v[:5] for v in versions] == [(12.5, "valid", "2025-01.csv", False, False),
                                         (80.0, "revoked", "2025-01更正.csv", True, True)]
    [(valid_to,)] = query(home, "SELECT _valid_to FROM raw.drainage_permits WHERE permit_no = 'DP-331002-00002' "
                                "AND NOT _is_current")
    assert valid_to == versions[1][5]                       # the old version ends when the new one begins
    assert query(home, "SELECT count(*) FROM raw.drainage_permits_current") == [(3,)]
    assert query(home, "SELECT count(*) FROM raw.drainage_permits WHERE permit_no = 'DP-331002-00003'") == [(1,)]


def test_files_are_processed_in_delivery_order(home):
    # The later delivery has the alphabetically earlier name: mtime decides which version is current.
    write_csv(landing(home, "drainage_permits") / "b_old.csv", [DRAINAGE_HEADER, drainage_row(1, volume="1")],
              mtime=1_700_000_000)
    write_csv(landing(home, "drainage_permits") / "a_new.csv", [DRAINAGE_HEADER, drainage_row(1, volume="2")],
              mtime=1_700_000_500)
    ingest(home, "drainage_permits")
    assert query(home, "SELECT permitted_volume_m3d, _source_file FROM raw.drainage_permits_current") == [
        (2.0, "a_new.csv")]


def _lab_rows(day: str, plants=("P01", "P02")):
    return [[p, day, point, "120", "300", "150", "25", "35", "3.5"] for p in plants for point in ("进水", "出水")]


def test_daily_lab_append_does_not_touch_earlier_days(home):
    write_csv(landing(home, "plant_lab") / "lab_2025-01-01.csv", [LAB_HEADER] + _lab_rows("2025-01-01"))
    ingest(home, "plant_lab", run_id="d1")
    before = query(home, "SELECT plant_id, sampled_on, sampling_point, _file_id, _valid_from FROM raw.plant_lab "
                         "ORDER BY ALL")

    write_csv(landing(home, "plant_lab") / "lab_2025-01-02.csv", [LAB_HEADER] + _lab_rows("2025/1/2"))
    [day2] = ingest(home, "plant_lab", run_id="d2").files
    assert (day2.rows_new, day2.rows_changed, day2.rows_unchanged) == (4, 0, 0)
    after = query(home, "SELECT plant_id, sampled_on, sampling_point, _file_id, _valid_from FROM raw.plant_lab "
                        "WHERE sampled_on = DATE '2025-01-01' ORDER BY ALL")
    assert after == before
    assert query(home, "SELECT sampled_on, count(*) FROM raw.plant_lab_current GROUP BY 1 ORDER BY 1") == [
        (date(2025, 1, 1), 4), (date(2025, 1, 2), 4)]


def test_supersession_check_reads_only_the_new_days(home):
    """The history merge filters the current rows by the new file's date range, so a day's file never
    meets (or supersedes) rows of other days even when keys repeat across days."""
    write_lines(landing(home, "plant_online") / "d1.log",
                [packet("33100200000001", f"20250101{h:02d}0000") for h in range(24)])
    ingest(home, "plant_online")
    write_lines(landing(home, "plant_online") / "d2.log",
                [packet("33100200000001", f"20250102{h:02d}0000") for h in range(24)]
                + [packet("33100200000001", "20250101050000", cod=41.0)])         # a corrected hour of day 1
    [day2] = ingest(home, "plant_online").files
    assert (day2.rows_new, day2.rows_changed) == (24, 1)
    assert query(home, "SELECT cod_avg, _is_current FROM raw.plant_online "
                       "WHERE data_time = TIMESTAMP '2025-01-01 05:00:00' ORDER BY _valid_from") == [
        (35.2, False), (41.0, True)]
    assert query(home, "SELECT count(*) FROM raw.plant_online_current") == [(48,)]


def _resources(home):
    return {"home": HomeResource(root=str(home.root)), "warehouse": WarehouseResource(path=str(home.warehouse))}


def _asset(feed):
    return [a for a in build_ingest_assets(CONTRACTS) if a.key.path == ["raw", feed]]


def test_one_asset_per_contract_with_contract_tags():
    assets = build_ingest_assets(CONTRACTS)
    assert sorted(a.key.path[1] for a in assets) == sorted(CONTRACTS)
    for a in assets:
        spec = a.specs_by_key[a.key]
        contract = CONTRACTS[a.key.path[1]]
        assert spec.group_name == "ingest"
        assert spec.tags["cadence"] == contract.cadence
        assert spec.metadata["owner 数据责任单位"] == contract.owner
        assert a.required_resource_keys >= {"home", "warehouse"}


def test_asset_reports_counts_and_checks(home):
    write_csv(landing(home, "drainage_permits") / "a.csv",
              [DRAINAGE_HEADER, drainage_row(1), drainage_row(2, volume="-1"), drainage_row(1)], mtime=1_700_000_000)
    (landing(home, "drainage_permits") / "b.csv").write_bytes(os.urandom(4096))
    os.utime(landing(home, "drainage_permits") / "b.csv", (1_700_000_100, 1_700_000_100))  # delivered (settled)
    result = materialize(_asset("drainage_permits"), resources=_resources(home), raise_on_error=False)
    # b.csv cannot be read: every record it held is lost, past the feed's loss bound, so the step fails
    # (a blocking ERROR check) although the materialization and its counts are recorded.
    assert not result.success
    [event] = result.get_asset_materialization_events()
    meta = {k.split(" ")[0]: getattr(v, "value", v) for k, v in event.materialization.metadata.items()}
    assert (meta["files_loaded"], meta["files_rejected"], meta["rows_read"], meta["rows_loaded"],
            meta["rows_quarantined"], meta["dagster/row_count"]) == (1, 1, 3, 1, 2, 1)
    assert len(event.materialization.metadata["files 文件明细"].records) == 2
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert {name: c.passed for name, c in checks.items()} == {
        "ingest_accounting": True, "ingest_one_current_version": True, "ingest_loss_bounds": False,
        "ingest_unmapped_values": True}
    # a.csv lost 2 of 3 records, below the 3-record floor of the share bound; b.csv is the one named
    assert "b.csv" in checks["ingest_loss_bounds"].description
    assert "a.csv" not in checks["ingest_loss_bounds"].description


def test_asset_fails_when_accounting_would_break_and_keeps_the_files(home, monkeypatch):
    """A loader defect that loses a row must not commit: the asset fails, the file stays in landing and
    nothing of it is in the warehouse; the later file of the feed waits too (delivery order decides the
    current version), while an unreadable file is still rejected."""
    write_csv(landing(home, "drainage_permits") / "a.csv", [DRAINAGE_HEADER, drainage_row(1), drainage_row(2)],
              mtime=1_700_000_000)
    write_csv(landing(home, "drainage_permits") / "b.csv", [DRAINAGE_HEADER, drainage_row(3)], mtime=1_700_000_100)
    (landing(home, "drainage_permits") / "c.csv").write_bytes(os.urandom(4096))
    os.utime(landing(home, "drainage_permits") / "c.csv", (1_700_000_200, 1_700_000_200))  # delivered (settled)
    real_apply = history.apply

    def losing_apply(con, contract, checked, files_table, batch_files):
        applied = real_apply(con, contract, checked, files_table, batch_files)
        # as if one record of a.csv had gone missing on the way in
        con.execute("DELETE FROM raw.drainage_permits WHERE permit_no = 'DP-331002-00002'")
        return applied

    monkeypatch.setattr(history, "apply", losing_apply)
    result = materialize(_asset("drainage_permits"), resources=_resources(home), raise_on_error=False)
    assert not result.success
    assert sorted(p.name for p in landing(home, "drainage_permits").iterdir()) == ["a.csv", "b.csv"]
    assert query(home, "SELECT file_name, status FROM audit.file_registry") == [("c.csv", "rejected")]
    assert query(home, "SELECT count(*) FROM raw.drainage_permits") == [(0,)]
    assert query(home, "SELECT count(*) FROM quarantine.drainage_permits") == [(0,)]

    monkeypatch.setattr(history, "apply", real_apply)       # the defect fixed: the next run loads both
    fixed = materialize(_asset("drainage_permits"), resources=_resources(home))
    assert fixed.success
    assert query(home, "SELECT count(*) FROM raw.drainage_permits_current") == [(3,)]
    assert query(home, "SELECT count(*) FROM raw.drainage_permits_current") == [(3,)]
