"""The pieces of daily operation, each evaluated by real Dagster on a copy of an operated data home: the landing
sensors, the daily schedule, delivery freshness, the run-failure alert, the warehouse pool."""
from __future__ import annotations

import datetime as dt
import hashlib
import http.server
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from dagster import (
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    build_run_status_sensor_context,
    build_schedule_context,
    build_sensor_context,
    job,
    op,
)

from pipelines import duck
from pipelines.contracts import load_contracts
from pipelines.home import DataHome
from pipelines.ingest import registry
from pipelines.ingest.freshness import findings
from pipelines.operations.alerts import AlertResource
from pipelines.operations.sensors import build_run_failure_sensor
from pipelines.resources import HomeResource
from tests.support.homes import REPO, clean_env, copy_home, operated_home

CHINA = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A copy of the operated home (full refresh + one new day, 2025-07-01), with its definitions."""
    from pipelines.definitions import build_definitions

    root = copy_home(operated_home(tmp_path_factory).root, tmp_path_factory.mktemp("ops") / "home")
    return DataHome.resolve(root), build_definitions(DataHome.resolve(root))


@pytest.fixture
def instance(home):
    data_home, _ = home
    inst = DagsterInstance.from_config(str(data_home.dagster))
    try:
        yield inst
    finally:
        inst.dispose()


def _next_lab_file(data_home: DataHome, scratch: Path) -> Path:
    """A lab CSV of the next day (2025-07-02), written outside the home from its sample truth."""
    from pipelines.sample.next_day import write_next_day

    scratch.mkdir()
    (scratch / "sample_truth.json").write_bytes(data_home.sample_truth.read_bytes())
    return next(p for p in write_next_day(scratch) if p.parent.name == "plant_lab")


# ---------------------------------------------------------------------------------------------------------
# Landing sensor
# ---------------------------------------------------------------------------------------------------------
def test_landing_sensor_admits_a_settled_file_once(home, instance, tmp_path):
    data_home, defs = home
    sensor = defs.get_sensor_def("landing_plant_lab")
    lab = _next_lab_file(data_home, tmp_path / "scratch")
    dropped = data_home.landing_for("plant_lab") / lab.name
    dropped.write_bytes(lab.read_bytes())
    os.utime(dropped, (lab.stat().st_mtime, lab.stat().st_mtime))   # delivered 2025-07-03, long settled
    sha = hashlib.sha256(dropped.read_bytes()).hexdigest()

    def tick(cursor):
        context = build_sensor_context(instance=instance, cursor=cursor, repository_def=defs.get_repository_def(),
                                       resources={"home": HomeResource(root=str(data_home.root))})
        return sensor.evaluate_tick(context)

    try:
        first = tick(None)                 # first look: size and mtime noted, nothing admitted yet
        assert not first.run_requests
        second = tick(first.cursor)
        assert len(second.run_requests) == 1
        request = second.run_requests[0]
        assert request.run_key == f"plant_lab:{sha}"
        assert request.run_config["ops"]["raw__plant_lab"]["config"]["files"] == [lab.name]
        selected = {k.to_user_string() for k in request.asset_selection}
        # the lab feed and what is built from lab samples; not the online monitoring series
        assert {"raw/plant_lab", "staging/stg_lab__samples", "marts/plant_influent_monthly",
                "marts/city_bod5_kpi", "published/warehouse"} <= selected
        assert not selected & {"raw/plant_online", "intermediate/int_plant_hourly_values", "marts/pipe_segments"}
        assert request.tags["dagster/asset_partition_range_start"] == "2025-07-02"
        assert request.tags["dagster/asset_partition_range_end"] == "2025-07-02"
        third = tick(second.cursor)        # still waiting to be loaded: not requested again
        assert not third.run_requests
    finally:
        dropped.unlink()


def test_landing_sensor_waits_for_a_file_being_written(home, instance, tmp_path):
    data_home, defs = home
    sensor = defs.get_sensor_def("landing_plant_lab")
    lab = _next_lab_file(data_home, tmp_path / "scratch")
    data = lab.read_bytes()
    growing = data_home.landing_for("plant_lab") / lab.name
    fresh = data_home.landing_for("plant_lab") / ("copy_" + lab.name)

    def tick(cursor):
        context = build_sensor_context(instance=instance, cursor=cursor, repository_def=defs.get_repository_def(),
                                       resources={"home": HomeResource(root=str(data_home.root))})
        return sensor.evaluate_tick(context)

    try:
        growing.write_bytes(data[: len(data) // 2])
        old = time.time() - 3600
        os.utime(growing, (old, old))
        fresh.write_bytes(data)            # complete, but modified just now
        first = tick(None)
        with open(growing, "ab") as fh:    # the upload goes on
            fh.write(data[len(data) // 2:])
        os.utime(growing, (old + 1, old + 1))
        second = tick(first.cursor)
        # the growing file changed size between the looks; the fresh one is younger than the settle time
        assert not second.run_requests
    finally:
        growing.unlink(missing_ok=True)
        fresh.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------------------
# Daily schedule
# ---------------------------------------------------------------------------------------------------------
def test_daily_schedule_rebuilds_what_the_reporting_date_makes_due(home, instance):
    data_home, defs = home
    schedule = defs.get_schedule_def("daily_refresh")
    resources = {"home": HomeResource(root=str(data_home.root))}
    last_run = max(r.start_time for r in instance.get_run_records() if r.start_time)
    same_day = dt.datetime.fromtimestamp(last_run, CHINA).replace(hour=23, minute=59)
    next_morning = (same_day + dt.timedelta(days=1)).replace(hour=2, minute=0)

    with build_schedule_context(instance=instance, scheduled_execution_time=same_day, resources=resources,
                                repository_def=defs.get_repository_def()) as context:
        quiet = schedule.evaluate_tick(context).run_requests[0]
    # nothing due the same day: only the delivery freshness of every feed with a cadence is checked (an
    # acknowledgement, alert_acks, comes when an alert needs one: never overdue)
    assert not quiet.asset_selection
    due_feeds = {feed for feed, c in load_contracts().items() if c.cadence != "on_demand"}
    assert "alert_acks" not in due_feeds and len(due_feeds) == len(load_contracts()) - 1
    assert {(k.asset_key.path[-1], k.name) for k in quiet.asset_check_keys} == \
        {(feed, "delivery_freshness") for feed in due_feeds}

    with build_schedule_context(instance=instance, scheduled_execution_time=next_morning, resources=resources,
                                repository_def=defs.get_repository_def()) as context:
        due = schedule.evaluate_tick(context).run_requests[0]
    selected = {k.to_user_string() for k in due.asset_selection}
    # KPIs "as of today" and what is built on them; no feed and no daily series
    assert {"marts/district_progress", "marts/pipe_segments", "marts/problem_pipes", "marts/discharger_profile",
            "published/warehouse"} <= selected
    assert not selected & {"raw/plant_online", "intermediate/int_plant_hourly_values",
                           "marts/effluent_compliance_daily", "staging/stg_census__pipes"}
    assert due.run_key == f"daily_refresh:{next_morning.date()}"


def test_schedule_and_sensors_are_on_by_default(home):
    _, defs = home
    from dagster import DefaultScheduleStatus, DefaultSensorStatus

    assert defs.get_schedule_def("daily_refresh").default_status == DefaultScheduleStatus.RUNNING
    sensors = {s.name: s.default_status for s in defs.sensors}
    assert set(sensors) == {f"landing_{f}" for f in load_contracts()} | {"run_failure_alert"}
    assert set(sensors.values()) == {DefaultSensorStatus.RUNNING}


# ---------------------------------------------------------------------------------------------------------
# Backfill of a range of days
# ---------------------------------------------------------------------------------------------------------
def test_a_backfill_of_a_day_rebuilds_that_day_only(home, instance):
    """A derived day gone stale (here: deleted) is rebuilt by a run over that day's partition of the feed and its
    downstream models, as a backfill from the UI launches it; the other days are not touched."""
    data_home, defs = home
    day = "2025-06-15"
    table = "intermediate.int_plant_hourly_values"
    digest = (f"SELECT count(*), sum(hash(plant_id, point, data_time, factor, value, flag, is_valid)::HUGEINT) "
              f"FROM {table} WHERE data_date {{}} '{day}'")

    def read(sql):
        con = duck.connect(data_home.warehouse, read_only=True, extensions=())
        try:
            return con.execute(sql).fetchone()
        finally:
            con.close()

    that_day, other_days = read(digest.format("=")), read(digest.format("<>"))
    assert that_day[0] > 0
    con = duck.connect(data_home.warehouse, extensions=())
    try:
        con.execute(f"DELETE FROM {table} WHERE data_date = '{day}'")
    finally:
        con.close()
    chain = {AssetKey(["raw", "plant_online"]), AssetKey(["staging", "stg_monitoring__packets"]),
             AssetKey(["staging", "stg_monitoring__factor_values"]), AssetKey(["intermediate", "int_plant_hourly_values"])}
    from pipelines.definitions import MAIN_JOB_NAME

    subset = defs.resolve_job_def(MAIN_JOB_NAME).get_subset(asset_selection=chain)   # with their checks
    result = subset.execute_in_process(instance=instance, raise_on_error=False, tags={
        "dagster/asset_partition_range_start": day, "dagster/asset_partition_range_end": day})
    assert result.success
    assert read(digest.format("=")) == that_day
    assert read(digest.format("<>")) == other_days


# ---------------------------------------------------------------------------------------------------------
# Delivery freshness
# ---------------------------------------------------------------------------------------------------------
def _registry(path: Path, now: dt.datetime) -> None:
    con = duck.connect(path, extensions=())
    try:
        registry.ensure(con)
        rows = [  # feed, file, status, age
            ("plant_online", "P33100201_2025-07-01.log", "loaded", dt.timedelta(days=3)),
            ("plant_online", "P33100201_2025-07-04.log", "rejected", dt.timedelta(hours=1)),
            ("plant_lab", "P33100201_x_化验_2025-07-03.csv", "loaded", dt.timedelta(days=1)),
            ("enforcement", "市综合执法局_执法记录_2025Q2.xlsx", "loaded", dt.timedelta(days=10)),
            ("enforcement", "市生态环境局_执法记录_2025Q1.xlsx", "loaded", dt.timedelta(days=50)),
            ("plants", "名录_2025.csv", "loaded", dt.timedelta(days=100)),
        ]
        for i, (feed, name, status, age) in enumerate(rows, start=1):
            registry.record(con, file_id=i, feed=feed, file_name=name, sha256=str(i), bytes=1, status=status,
                            rows_read=0, rows_loaded=0, rows_quarantined=0, loaded_at=now - age)
    finally:
        con.close()


def test_an_overdue_bureau_is_a_finding_per_bureau(tmp_path):
    """By hand: plant_online (daily, 2 days allowed) last loaded 3 days ago — the rejected file of an hour ago
    delivers nothing — so 市生态环境局 is overdue; plant_lab 1 day: on time; enforcement (monthly, 38 days):
    市综合执法局's file 10 days old is on time, 市生态环境局's 50 days old is overdue; plants (yearly, 380 days)
    100 days: on time; census_pipes never delivered: overdue."""
    now = dt.datetime.now()
    path = tmp_path / "warehouse.duckdb"
    _registry(path, now)
    con = duck.connect(path, read_only=True, extensions=())
    try:
        found = findings(con, load_contracts())
    finally:
        con.close()
    overdue = {(f.feed, f.bureau) for f in found if f.overdue(now)}
    assert ("plant_online", "市生态环境局") in overdue
    assert ("enforcement", "市生态环境局") in overdue
    assert ("census_pipes", "市综合执法局") in overdue
    assert not overdue & {("plant_lab", "市综合执法局"), ("enforcement", "市综合执法局"), ("plants", "市建设局")}


def test_freshness_is_a_dagster_check_with_the_bureau(home, tmp_path):
    """The same registry as above, evaluated by the code location's delivery_freshness check in a real run."""
    from pipelines.definitions import MAIN_JOB_NAME, build_definitions
    from pipelines.ingest.freshness import check_key

    data_home = DataHome.resolve(tmp_path / "fresh_home").ensure()
    _registry(data_home.warehouse, dt.datetime.now())
    defs = build_definitions(data_home)
    keys = {check_key(f) for f in ("plant_online", "plant_lab", "enforcement", "plants")}
    subset = defs.resolve_job_def(MAIN_JOB_NAME).get_subset(asset_selection=set(), asset_check_selection=keys)
    result = subset.execute_in_process(instance=DagsterInstance.ephemeral(), raise_on_error=False)
    assert result.success
    evaluations = {e.asset_key.path[-1]: e for e in result.get_asset_check_evaluations()}
    assert {f: e.passed for f, e in evaluations.items()} == {
        "plant_online": False, "plant_lab": True, "enforcement": False, "plants": True}
    assert evaluations["enforcement"].metadata["overdue_bureaus 逾期部门"].value == "市生态环境局"
    assert all(e.severity.value == "WARN" for e in evaluations.values())


# ---------------------------------------------------------------------------------------------------------
# Run-failure alert
# ---------------------------------------------------------------------------------------------------------
class _Hook(http.server.BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self):  # noqa: N802 - http.server's name
        self.received.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"errcode":0}')

    def log_message(self, *args):
        pass


def test_a_failed_run_leaves_one_chinese_alert_and_one_webhook_post(tmp_path):
    @op
    def load_files():
        raise RuntimeError("文件损坏 the file is broken")

    @job
    def failing():
        load_files()

    instance = DagsterInstance.ephemeral()
    result = failing.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    server = http.server.HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        alerts = AlertResource(root=str(tmp_path), webhook_url=f"http://127.0.0.1:{server.server_port}/hook")
        sensor = build_run_failure_sensor()
        for _ in range(2):        # the daemon may see the failure again: still one alert
            context = build_run_status_sensor_context(
                sensor_name=sensor.name, dagster_event=result.get_run_failure_event(), dagster_instance=instance,
                dagster_run=result.dagster_run, resources={"alerts": alerts}).for_run_failure()
            sensor(context)
    finally:
        server.shutdown()
    files = list((tmp_path / "alerts").glob("*.txt"))
    assert len(files) == 1
    text = files[0].read_text(encoding="utf-8")
    assert "运行失败" in text and result.run_id in text and "load_files" in text and "文件损坏" in text
    assert len(_Hook.received) == 1
    body = json.loads(_Hook.received[0].decode("utf-8"))
    assert body["msgtype"] == "text" and body["text"]["content"] == text.strip()


def test_an_unreachable_webhook_still_leaves_the_alert_file(tmp_path):
    from pipelines.operations.alerts import FailedRun

    alerts = AlertResource(root=str(tmp_path), webhook_url="http://127.0.0.1:9/unreachable", timeout_seconds=2)
    path = alerts.send(FailedRun(run_id="r1", job_name="sewershare_main", failed_steps=[("dbt_models", "x")]))
    assert path.exists() and "告警推送失败" in path.read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------------------
# Warehouse pool
# ---------------------------------------------------------------------------------------------------------
def test_every_warehouse_writer_is_in_the_pool(home):
    _, defs = home
    graph = defs.resolve_asset_graph()
    writers = [k for k in graph.materializable_asset_keys]
    pools = {k.to_user_string(): graph.assets_def_for_key(k).op.pool for k in writers}
    assert set(pools.values()) == {"warehouse"}, pools
    assert {"raw/plant_online", "marts/pipe_segments", "published/warehouse"} <= set(pools)


PUBLISH_ONCE = """
import sys, time
from pipelines.definitions import MAIN_JOB_NAME, build_definitions
from pipelines.home import DataHome
from pipelines.operations.instance import instance_for
from dagster import AssetKey
home = DataHome.resolve(sys.argv[1])
defs = build_definitions(home)
job = defs.resolve_job_def(MAIN_JOB_NAME).get_subset(asset_selection={AssetKey(["published", "warehouse"])},
                                                   asset_check_selection=set())
while time.time() < float(sys.argv[2]):     # both processes start their run at the same moment
    time.sleep(0.05)
assert job.execute_in_process(instance=instance_for(home), raise_on_error=False).success
"""


def test_two_runs_never_write_at_the_same_time(home, instance):
    """Two processes start a publication at the same instant: the pool (limit 1) lets one step run at a time."""
    data_home, _ = home
    start = time.time() + 60
    procs = [subprocess.Popen([sys.executable, "-c", PUBLISH_ONCE, str(data_home.root), str(start)], cwd=REPO,
                              env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    windows = []
    for run in instance.get_runs(limit=2):
        events = {e.dagster_event.event_type: e.timestamp
                  for e in instance.all_logs(run.run_id, of_type={DagsterEventType.STEP_START,
                                                                   DagsterEventType.STEP_SUCCESS})}
        windows.append((events[DagsterEventType.STEP_START], events[DagsterEventType.STEP_SUCCESS]))
    (a_start, a_end), (b_start, b_end) = sorted(windows)
    assert a_end <= b_start, windows
