"""One published and shared data home per test session, for the sharing tests.

The quality tests' fixture warehouse (the hand-made raw layer with the real dbt marts on it) is published and
shared once. One change to it: 丙餐饮 becomes an individual business (个体工商户) in the raw drainage permits and in
``discharger_profile``, so a personal value exists that only its owners may see. Tests that write (tokens, requests,
the audit log) work on a copy (:func:`copy_home`).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelines.home import DataHome
from pipelines.publish.writer import publish
from pipelines.resources import WarehouseResource
from pipelines.share.catalogue import write_catalogue
from pipelines.share.extracts import write_recipient_extracts
from test_quality_support import _once, execute, fixture_warehouse  # noqa: F401  (fixture)

INDIVIDUAL = "丙餐饮"   # the individual business's name: personal, owners only


def reader(home: DataHome):
    return WarehouseResource(path=str(home.warehouse)).reader


def make_shared_home(root: Path, warehouse: Path) -> DataHome:
    home = DataHome(root).ensure()
    shutil.copy(warehouse, home.warehouse)
    execute(home.warehouse, f"UPDATE raw.drainage_permits SET holder_type = 'individual' WHERE holder_name = '{INDIVIDUAL}';"
                            f"UPDATE marts.discharger_profile SET holder_is_individual = true WHERE name = '{INDIVIDUAL}'")
    publish(home, reader(home), run_id="share-fixture")
    write_catalogue(home)
    write_recipient_extracts(home, reader(home))
    return home


@pytest.fixture(scope="session")
def shared_home(tmp_path_factory, fixture_warehouse) -> DataHome:
    """Published, catalogued and shared (read it, never write it: copy it)."""
    return _once("shared_home", lambda: make_shared_home(tmp_path_factory.mktemp("shared") / "home",
                                                        fixture_warehouse))


def copy_home(src: DataHome, dst: Path) -> DataHome:
    shutil.copytree(src.root, dst, symlinks=True)
    return DataHome(dst).ensure()


# ---------------------------------------------------------------------------------------------------------------
# A real portal (uvicorn in a thread, on a free loopback port) and the real delta-sharing connector in its own venv
# ---------------------------------------------------------------------------------------------------------------
import contextlib  # noqa: E402
import fcntl  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DELTA_VENV = REPO / ".venv-delta"
DELTA_LOCK = REPO / "tests" / "support" / "delta_sharing.lock"


@contextlib.contextmanager
def running_portal(home: DataHome):
    import uvicorn

    from pipelines.share.portal import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(home), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        assert time.time() < deadline and thread.is_alive(), "portal did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def delta_python() -> Path:
    """The interpreter of a small venv with the pinned delta-sharing connector (it pins pandas < 3, so it must not
    touch the main environment). Created once, under a lock (pytest-xdist workers share it)."""
    python = DELTA_VENV / "bin" / "python"
    marker = DELTA_VENV / ".installed"
    DELTA_VENV.parent.mkdir(exist_ok=True)
    with open(REPO / ".venv-delta.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists() or marker.read_text() != DELTA_LOCK.read_text():
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(DELTA_VENV)], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                            "-r", str(DELTA_LOCK)], check=True)
            marker.write_text(DELTA_LOCK.read_text())
    return python
