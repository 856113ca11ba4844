"""The code location loads the way Dagster loads it, and importing it builds nothing: the dbt project is parsed
and the checks are made inside ``build_definitions()``, when Dagster (or ``sewershare run``) calls it."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pipelines.home import REPO_ROOT


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)


def test_importing_the_definitions_parses_nothing_and_builds_nothing():
    # a dbt parse or a build at import would call prepare_dbt_project (made to fail here) or load GE
    done = _python(
        "import sys\n"
        "import pipelines.transform.project as project\n"
        "def refuse(*a, **k):\n"
        "    raise SystemExit('dbt project prepared at import')\n"
        "project.prepare_dbt_project = refuse\n"
        "import pipelines.definitions as d\n"
        "from dagster.components.definitions import LazyDefinitions\n"
        "assert isinstance(d.defs, LazyDefinitions), type(d.defs)\n"
        "assert 'great_expectations' not in sys.modules\n"
        "print('ok')\n")
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-2000:]


def test_dagster_loads_the_code_location(tmp_path):
    env = {**os.environ, "SEWERSHARE_HOME": str(tmp_path / "home"), "DAGSTER_HOME": str(tmp_path / "dagster")}
    (tmp_path / "dagster").mkdir()
    dagster = str(Path(sys.executable).with_name("dagster"))
    done = subprocess.run([dagster, "definitions", "validate", "-w", "workspace.yaml"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Validation successful for code location pipelines.definitions" in done.stdout + done.stderr


def test_built_definitions_hold_the_checks_of_every_home(tmp_path):
    from dagster import AssetKey

    from pipelines.definitions import build_definitions
    from pipelines.home import DataHome

    graph = build_definitions(DataHome(tmp_path / "home")).resolve_asset_graph()
    checks = {(k.asset_key.to_user_string(), k.name): graph.get_check_spec(k) for k in graph.asset_check_keys}
    assert checks[("raw/census_pipes", "ingest_one_current_version")].blocking          # the loader's
    assert checks[("marts/district_progress", "district_progress_city_row_is_the_sum")].blocking  # dbt, error
    assert not checks[("marts/network_anomalies", "network_manholes_on_cycles")].blocking  # dbt, warn
    assert checks[("marts/pipe_segments", "ge_suite")].blocking                          # the suite
    assert not checks[("marts/pipe_segments", "row_count_change")].blocking
    assert AssetKey(["published", "warehouse"]) in graph.get_all_asset_keys()
