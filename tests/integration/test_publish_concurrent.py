"""Readers never meet a lock: an analyst's process queries published/sewershare.duckdb read-only in a loop
while another process, as the warehouse's one writer, rewrites a mart and republishes, four times.

The "rebuild" is not a dbt build: it replaces one mart table (marts.city_bod5_kpi, plants_total + 1) through a
writer connection to the warehouse, closes it, and publishes — enough to change the published data each round
and to have a writer on the warehouse between the reader's queries of the published copy."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time

from pipelines.home import REPO_ROOT, DataHome
from pipelines.publish.writer import publish
from pipelines.resources import WarehouseResource
from test_quality_support import fixture_warehouse  # noqa: F401  (fixture)

READER = textwrap.dedent("""
    import json, os, sys, time
    from pathlib import Path
    from pipelines import duck
    published, stop, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    seen, errors, queries = set(), [], 0
    while not stop.exists():
        try:
            con = duck.connect(published, read_only=True, extensions=())
            try:
                (run_id,) = con.execute("SELECT max(run_id) FROM meta.publication").fetchone()
                con.execute("SELECT count(*), sum(plants_total) FROM marts.city_bod5_kpi").fetchone()
            finally:
                con.close()
            seen.add(run_id)
            queries += 1
        except Exception as exc:  # a lock or a half-written file would land here
            errors.append(f"{type(exc).__name__}: {exc}")
        # the test process reads the report while we go on: never let it see a half-written file
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps({"seen": sorted(seen), "errors": errors, "queries": queries}))
        os.replace(tmp, out)
""")

REBUILDER = textwrap.dedent("""
    import sys
    from pipelines import duck
    from pipelines.home import DataHome
    from pipelines.publish.writer import publish
    from pipelines.resources import WarehouseResource
    home = DataHome.resolve(sys.argv[1])
    for i in range(int(sys.argv[2])):
        con = duck.connect(home.warehouse)  # the warehouse's one writer, as dbt would be
        try:
            con.execute("CREATE OR REPLACE TABLE marts.city_bod5_kpi AS "
                        "SELECT * REPLACE (plants_total + 1 AS plants_total) FROM marts.city_bod5_kpi")
        finally:
            con.close()
        publish(home, WarehouseResource(path=str(home.warehouse)).reader, run_id=f"rebuild-{i}")
""")


def test_readers_never_meet_a_lock_while_the_warehouse_is_rebuilt_and_republished(tmp_path, fixture_warehouse):
    home = DataHome(tmp_path / "home").ensure()
    shutil.copy(fixture_warehouse, home.warehouse)
    publish(home, WarehouseResource(path=str(home.warehouse)).reader, run_id="initial")
    stop, out = tmp_path / "stop", tmp_path / "reader.json"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    reader = subprocess.Popen([sys.executable, "-c", READER, str(home.published), str(stop), str(out)],
                              cwd=REPO_ROOT, env=env)
    try:
        deadline = time.time() + 60
        while not (out.exists() and json.loads(out.read_text())["queries"]) and time.time() < deadline:
            time.sleep(0.1)
        rebuild = subprocess.run([sys.executable, "-c", REBUILDER, str(home.root), "4"], cwd=REPO_ROOT, env=env,
                                 capture_output=True, text=True, timeout=300)
        assert rebuild.returncode == 0, rebuild.stderr[-3000:]
        time.sleep(0.5)  # let the reader open the last version too
    finally:
        stop.touch()
        reader.wait(timeout=60)
    report = json.loads(out.read_text())
    assert report["errors"] == []
    assert report["queries"] > 10
    # the reader went on reading across republications: it saw the first and later versions
    assert "initial" in report["seen"] and len(report["seen"]) >= 2
    assert reader.returncode == 0
