"""An alert's closed loop on real files: an exceedance opens an alert, a department acknowledges it with
``sewershare ack``, and a later compliant day closes it; the key stays the same throughout (raised once).

On a copy of the shared sample warehouse (tests/fixtures/published_home.py), with HJ 212-2017 log files written
packet by packet (framing and CRC of pipelines.hj212) and loaded by the real ingestion, then the dbt models
downstream of the hourly values rebuilt by dbt itself (reporting date 2025-07-31: the sample ends on 2025-06-30).

Expected values, worked out by hand: the plant's outlet sends 24 valid hours of COD = 100 mg/L on 2025-07-10.
Every COD limit of the water_quality_limits seed is at most 60 mg/L (GB 18918 1B; 1A 50, DB33/2169 40 and 30), so
the daily mean 100 exceeds: alert ``effluent_exceedance|<plant>|cod|2025-07-10`` opens on 2025-07-10.
On 2025-07-11 only 10 hours are valid (COD 10): below the 20 valid hours of var min_valid_hours, the day cannot be
judged and must not close the alert. On 2025-07-12, 24 hours of COD = 10 mg/L (below every limit, the lowest being
30) are compliant: the alert closes on 2025-07-12, closed by that day's record. NH3-N 0.5, TN 5, TP 0.1 on these
days are below every limit and pH 7.1 is within 6–9, so they raise nothing.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines import duck
from pipelines.contracts import delivery_rules, load_contracts
from pipelines.hj212 import frame
from pipelines.home import DBT_PROJECT_DIR, DataHome
from pipelines.ingest.loader import ingest_feed
from pipelines.transform.project import dbt_executable

SEWERSHARE = str(Path(sys.executable).with_name("sewershare"))
REPORTING_DATE = "2025-07-31"


def _packet(mn: str, hour: dt.datetime, cod: float) -> str:
    data = (f"QN={(hour + dt.timedelta(hours=1)).strftime('%Y%m%d%H%M%S')}000;ST=32;CN=2061;PW=123456;MN={mn};"
            f"Flag=4;CP=&&DataTime={hour.strftime('%Y%m%d%H%M%S')};w00000-Avg=4000.0,w00000-Flag=N;"
            f"w01001-Avg=7.1,w01001-Flag=N;w01018-Avg={cod},w01018-Flag=N;w21003-Avg=0.5,w21003-Flag=N;"
            f"w21001-Avg=5.0,w21001-Flag=N;w21011-Avg=0.1,w21011-Flag=N&&")
    return frame(data)


def _day(mn: str, day: dt.date, cod: float, hours: int = 24) -> str:
    start = dt.datetime(day.year, day.month, day.day)
    return "".join(_packet(mn, start + dt.timedelta(hours=h), cod) for h in range(hours))


def _dbt(home: DataHome, select: str, tmp: Path) -> None:
    vars_ = {"warehouse_path": str(home.warehouse), "reporting_date": REPORTING_DATE,
             "feed_delivery_rules": delivery_rules()}
    run = subprocess.run([dbt_executable(), "build", "--select", select, "--vars", json.dumps(vars_),
                          "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
                          "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs")],
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-4000:]


def _ingest(home: DataHome, feed: str) -> None:
    con = duck.connect(home.warehouse)
    try:
        result = ingest_feed(load_contracts()[feed], home, con, run_id=f"lifecycle-{feed}")
    finally:
        con.close()
    assert result.files and all(f.rows_quarantined == 0 for f in result.files), result


def _alert(home: DataHome, key: str) -> dict | None:
    con = duck.connect(home.warehouse, read_only=True, extensions=())
    try:
        cur = con.execute("SELECT * FROM marts.alerts WHERE alert_key = ?", [key])
        names = [d[0] for d in cur.description]
        row = cur.fetchone()
        same = con.execute("SELECT count(*) FROM marts.alerts WHERE alert_type = 'effluent_exceedance' "
                           "AND alert_key LIKE ? AND raised_on >= '2025-07-01'", [key.rsplit("|", 1)[0] + "|%"]
                           ).fetchone()[0]
    finally:
        con.close()
    return None if row is None else dict(zip(names, row), same_episode_rows=same)


@pytest.fixture(scope="module")
def copy(tmp_path_factory):
    from tests.fixtures.published_home import sample_home

    built = sample_home(tmp_path_factory)
    assert built.build["success"]
    home = DataHome.resolve(tmp_path_factory.mktemp("lifecycle_home")).ensure()
    shutil.copy(built.home.warehouse, home.warehouse)
    con = duck.connect(home.warehouse, read_only=True, extensions=())
    try:
        # a plant whose last sample day of COD was judged compliant: an episode opening on 2025-07-10 is new
        plant, mn = con.execute("""
            SELECT p.plant_id, p.outlet_mn FROM raw.plants_current p
            JOIN marts.effluent_compliance_daily e ON e.plant_id = p.plant_id AND e.factor = 'cod'
            WHERE e.date = (SELECT max(date) FROM marts.effluent_compliance_daily)
              AND e.meets_min_valid_hours AND NOT e.exceeded
            ORDER BY p.plant_id LIMIT 1""").fetchone()
    finally:
        con.close()
    return home, plant, mn, tmp_path_factory.mktemp("lifecycle_dbt")


def test_exceedance_opens_an_acknowledgement_marks_and_a_compliant_day_closes_the_alert(copy):
    home, plant, mn, tmp = copy
    key = f"effluent_exceedance|{plant}|cod|2025-07-10"
    select = "int_plant_hourly_values+ stg_alerts__acknowledgements+"

    # 1. the exceedance (and a day with too few valid hours, which must not close it)
    folder = home.landing_for("plant_online")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{plant}_2025-07a.log").write_text(
        _day(mn, dt.date(2025, 7, 10), 100.0) + _day(mn, dt.date(2025, 7, 11), 10.0, hours=10), encoding="ascii")
    _ingest(home, "plant_online")
    _dbt(home, select, tmp)
    alert = _alert(home, key)
    assert alert is not None, "an exceedance of COD on 2025-07-10 must open an alert"
    assert (alert["state"], alert["raised_on"], alert["closed_on"]) == ("open", dt.date(2025, 7, 10), None)
    assert alert["state_zh"] == "待处理" and alert["responsible_unit"] == "ecology_environment"
    assert "超标" in alert["message_zh"] and "100" in alert["message_zh"]
    assert alert["age_days"] == 21                       # 2025-07-10 → 2025-07-31
    assert alert["same_episode_rows"] == 1

    # 2. the responsible department acknowledges it (the CLI writes a file; the next load takes it in)
    ack = subprocess.run([SEWERSHARE, "ack", key, "--by", "市生态环境局", "--on", "2025-07-11",
                          "--action", "已要求运营单位排查进水", "--home", str(home.root)],
                         capture_output=True, text=True, timeout=120)
    assert ack.returncode == 0, ack.stderr
    _ingest(home, "alert_acks")
    _dbt(home, select, tmp)
    alert = _alert(home, key)
    assert (alert["state"], alert["acknowledged_on"], alert["acknowledged_by"]) == \
        ("acknowledged", dt.date(2025, 7, 11), "ecology_environment")
    assert alert["acknowledged_by_record"].startswith("预警签收_")

    # 3. a compliant day closes it; the key is the same alert, raised once
    (folder / f"{plant}_2025-07b.log").write_text(_day(mn, dt.date(2025, 7, 12), 10.0), encoding="ascii")
    _ingest(home, "plant_online")
    _dbt(home, select, tmp)
    alert = _alert(home, key)
    assert (alert["state"], alert["closed_on"]) == ("closed", dt.date(2025, 7, 12))
    assert alert["state_zh"] == "已闭环" and alert["age_days"] == 2
    assert alert["closed_by_record"] == f"effluent_compliance_daily {plant} cod 2025-07-12 达标"
    assert alert["acknowledged_on"] == dt.date(2025, 7, 11)      # the acknowledgement stays on record
    assert alert["same_episode_rows"] == 1
