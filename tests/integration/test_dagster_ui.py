"""`make dagster` on an operated data home, in a real browser (Debian chromium), with the real daemon.

The webserver and daemon run on the data home's persistent instance (``sewershare dagster``): the runs of
``sewershare run`` are listed, every landing sensor and the daily schedule are on without anyone switching them
on, and a file dropped into a landing folder starts exactly one run, keyed by the file's hash.
"""
from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from pipelines.contracts import load_contracts
from tests.support.browser import browser_page
from tests.support.homes import REPO, clean_env, copy_home, operated_home

SHOTS = Path(os.environ.get("SEWERSHARE_UI_SHOTS", "")) if os.environ.get("SEWERSHARE_UI_SHOTS") else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(predicate, timeout: float, what: str, every: float = 2.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    """``sewershare dagster`` (webserver + daemon) on a copy of the operated home."""
    home = copy_home(operated_home(tmp_path_factory).root, tmp_path_factory.mktemp("ui") / "home")
    port = _free_port()
    log = open(home.parent / "dagster_dev.log", "w")
    process = subprocess.Popen([str(Path(sys.executable).with_name("sewershare")), "dagster", "--home", str(home),
                                "--port", str(port)], cwd=REPO, env=clean_env(), stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)

    def up() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5) as r:
                return r.status == 200
        except OSError:
            assert process.poll() is None, (home.parent / "dagster_dev.log").read_text()[-3000:]
            return False

    try:
        _wait_for(up, 300, "the Dagster webserver")
        yield home, f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        try:   # dagster dev's webserver, daemon and code servers share its process group
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=30)
        log.close()


def _dismiss_welcome(page) -> None:
    skip = page.get_by_role("button", name="Skip")
    if skip.count() and skip.first.is_visible():
        skip.first.click()


def _instance(home: Path) -> DagsterInstance:
    return DagsterInstance.from_config(str(home / "dagster"))


def test_the_runs_of_sewershare_run_are_listed(ui):
    home, url = ui
    instance = _instance(home)
    try:
        run_ids = [r.run_id for r in instance.get_runs()]
    finally:
        instance.dispose()
    assert len(run_ids) == 2
    with browser_page(1400, 1000) as page:
        page.goto(f"{url}/runs", timeout=120_000)
        for run_id in run_ids:        # the list shows the first 8 characters of a run id
            page.get_by_text(run_id[:8], exact=True).first.wait_for(timeout=120_000)
        _dismiss_welcome(page)
        assert page.get_by_text("sewershare_main").count() >= 2
        if SHOTS:
            page.screenshot(path=str(SHOTS / "dagster_runs.png"))


def test_the_sensors_and_the_schedule_are_on(ui):
    _, url = ui
    expected = {f"sensors/landing_{feed}" for feed in load_contracts()} | {"sensors/run_failure_alert",
                                                                           "schedules/daily_refresh"}
    with browser_page(1400, 1100) as page:
        page.goto(f"{url}/automation", timeout=120_000)
        page.locator("a[href$='/schedules/daily_refresh']").wait_for(timeout=120_000)

        def states() -> dict[str, bool | None]:
            # each row: the selection box first, the on/off switch last (rendered off until its state loads)
            found = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll(
                'a[href*="/sensors/"], a[href*="/schedules/"]')].map(a => {
                    let row = a; while (row && row.querySelectorAll('input[type=checkbox]').length < 2)
                        row = row.parentElement;
                    const boxes = row ? row.querySelectorAll('input[type=checkbox]') : [];
                    const name = a.getAttribute('href').split('/').slice(-2).join('/');
                    return [name, boxes.length ? boxes[boxes.length - 1].checked : null];
                }))""")
            return {name: found.get(name) for name in expected}

        deadline = time.monotonic() + 120
        while not all(states().values()) and time.monotonic() < deadline:
            time.sleep(2)
        _dismiss_welcome(page)
        assert states() == {name: True for name in expected}
        if SHOTS:
            page.screenshot(path=str(SHOTS / "dagster_automation.png"))


def test_a_dropped_file_starts_exactly_one_run(ui, tmp_path):
    """One lab CSV of a new day into landing/plant_lab: the landing sensor admits it at its second look
    (size and mtime unchanged), one run is launched with the file's SHA-256 as run key, the file is loaded,
    and later ticks start nothing more."""
    home, _ = ui
    from pipelines.sample.next_day import write_next_day

    # the day after the operated home's new day, written elsewhere; one plant's lab file is dropped
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "sample_truth.json").write_bytes((home / "sample_truth.json").read_bytes())
    lab = next(p for p in write_next_day(scratch) if p.parent.name == "plant_lab")
    dropped = home / "landing" / "plant_lab" / lab.name
    dropped.write_bytes(lab.read_bytes())
    os.utime(dropped, (lab.stat().st_atime, lab.stat().st_mtime))
    sha = hashlib.sha256(dropped.read_bytes()).hexdigest()

    instance = _instance(home)
    try:
        runs_filter = RunsFilter(tags={"dagster/sensor_name": "landing_plant_lab"})
        run = _wait_for(lambda: instance.get_runs(filters=runs_filter), 300, "the sensor's run")[0]
        assert run.tags["dagster/run_key"] == f"plant_lab:{sha}"
        done = _wait_for(lambda: (r := instance.get_run_by_id(run.run_id)).is_finished and r, 900,
                         "the sensor's run to finish", every=5)
        assert done.status == DagsterRunStatus.SUCCESS, done.status
        assert not dropped.exists() and (home / "archive" / "plant_lab" / lab.name).exists()
        time.sleep(40)          # another sensor interval
        assert len(instance.get_runs(filters=runs_filter)) == 1
        assert len(instance.get_runs()) == 3
    finally:
        instance.dispose()
