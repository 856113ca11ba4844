"""The README's main command end to end: `sewershare run` on the built-in sample, twice.

Real files, real Dagster job, real dbt build, real GE suites, real DuckDB files.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines import duck
from tests.support.homes import copy_home, first_run_home

REPO = Path(__file__).resolve().parents[2]
SEWERSHARE = str(Path(sys.executable).with_name("sewershare"))


def _run(home: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("SEWERSHARE_HOME", "DAGSTER_HOME")}
    return subprocess.run([SEWERSHARE, "run", "--home", str(home), "--sample"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=1200)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The first run (shared with the daily-operation tests: tests/support/homes.py), then a second one on a copy."""
    first_home, first = first_run_home(tmp_path_factory)
    home = copy_home(first_home, tmp_path_factory.mktemp("main_job") / "home")
    second = _run(home)
    return home, first, second


def test_first_run_generates_the_sample_ingests_and_publishes(two_runs):
    home, first, _ = two_runs
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
    truth = json.loads((home / "sample_truth.json").read_text(encoding="utf-8"))
    # Every landed file was taken: loaded, skipped or rejected; none left in landing.
    assert not [p for p in (home / "landing").rglob("*") if p.is_file()]
    con = duck.connect(home / "warehouse" / "sewershare.duckdb", read_only=True, extensions=())
    try:
        registered = con.execute("SELECT count(*) FROM audit.file_registry").fetchone()[0]
        unbalanced = con.execute(
            "SELECT count(*) FROM audit.file_registry WHERE status = 'loaded' "
            "AND rows_read <> rows_loaded + rows_quarantined").fetchone()[0]
        read_total = con.execute(
            "SELECT sum(rows_read) FROM audit.file_registry WHERE status = 'loaded'").fetchone()[0]
    finally:
        con.close()
    assert registered == len(truth["files"])
    assert unbalanced == 0
    assert read_total == sum(f["data_rows"] for f in truth["files"])


def test_published_copy_and_extracts_are_readable(two_runs):
    home, first, _ = two_runs
    published = home / "published" / "sewershare.duckdb"
    con = duck.connect(published, read_only=True, extensions=())
    try:
        marts = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'").fetchall()}
        progress_rows = con.execute("SELECT count(*) FROM marts.district_progress").fetchone()[0]
    finally:
        con.close()
    assert {"pipe_segments", "problem_pipes", "district_progress", "city_bod5_kpi",
            "effluent_compliance_daily", "discharger_profile"} <= marts
    assert progress_rows > 0
    extracts = home / "extracts" / "all"
    assert {p.stem for p in extracts.glob("*.parquet")} >= {"pipe_segments", "district_progress"}


def test_the_progress_report_follows_the_publication(two_runs):
    home, first, _ = two_runs
    page = home / "reports" / "progress" / "index.html"
    pdfs = list((home / "reports" / "meeting").glob("*.pdf"))
    assert page.exists() and len(pdfs) == 1
    # written after the published copy it reads (asset report/progress downstream of published/warehouse)
    assert page.stat().st_mtime >= (home / "published" / "sewershare.duckdb").stat().st_mtime
    assert "台州市污水管网提升改造行动进展报告" in page.read_text(encoding="utf-8")


def test_second_run_loads_nothing_new(two_runs):
    home, _, second = two_runs
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-4000:]
    con = duck.connect(home / "warehouse" / "sewershare.duckdb", read_only=True, extensions=())
    try:
        runs = con.execute("SELECT count(DISTINCT run_id) FROM audit.file_registry").fetchone()[0]
    finally:
        con.close()
    # The second run found landing/ empty and archive/ full: no sample regenerated, no file registered.
    assert runs == 1
    assert "没有新文件" in second.stdout


def test_readme_analyst_questions_run_on_the_published_copy(two_runs):
    home, first, _ = two_runs
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    questions = re.findall(r"```sql\n(.*?)```", readme, flags=re.S)
    assert len(questions) >= 3
    con = duck.connect(home / "published" / "sewershare.duckdb", read_only=True, extensions=())
    try:
        answered = [con.execute(sql).fetchall() for sql in questions]
    finally:
        con.close()
    # The sample has districts behind the plan and plants below 100 mg/L, so the first two have answers; the
    # third's example segment is picked among those with valid permits upstream, so it names dischargers, each
    # draining through that one segment.
    assert answered[0] and answered[1] and answered[2], [len(a) for a in answered]
    assert len({row[0] for row in answered[2]}) == 1


def test_raw_keeps_every_contract_rule(two_runs):
    """The sample's spoiled rows went to quarantine and nothing in raw breaks a rule of its contract: the property
    test_loader_guarantees.py shows rule by rule, here on the whole messy sample, every feed at once."""
    from pipelines.contracts import load_contracts
    from pipelines.identifiers import CREDIT_CODE_SQL_MACRO
    from tests.support.contract_rules import raw_violations

    home, _, _ = two_runs
    truth = json.loads((home / "sample_truth.json").read_text(encoding="utf-8"))
    con = duck.connect(home / "warehouse" / "sewershare.duckdb", read_only=True)
    try:
        con.execute(CREDIT_CODE_SQL_MACRO)
        broken = {(feed, rule): n for feed, contract in load_contracts().items()
                  for rule, sql in raw_violations(contract).items() if (n := con.execute(sql).fetchone()[0])}
        quarantined = sum(con.execute(f"SELECT count(*) FROM quarantine.{feed}").fetchone()[0]
                          for feed in load_contracts())
    finally:
        con.close()
    assert broken == {}
    assert quarantined == sum(len(f["invalid_rows"]) for f in truth["files"]) > 0


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_checks_ran_and_the_gate_was_open(two_runs, tmp_path_factory):
    _, first, _ = two_runs
    # the copy the first run published (the second run may rebuild the KPI marts when the day has changed)
    home, _ = first_run_home(tmp_path_factory)
    assert "阻断失败 0" in first.stdout
    con = duck.connect(home / "published" / "sewershare.duckdb", read_only=True, extensions=())
    try:
        marts = {r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()}
        status = con.execute("SELECT asset, check_name, severity, passed, run_id FROM meta.quality_status").fetchall()
    finally:
        con.close()
    # the published copy carries what Dagster recorded for each dataset: its suite and its dbt tests, this run's
    assert {a for a, *_ in status} == {f"marts/{m}" for m in marts}
    assert {(a, c) for a, c, *_ in status} >= {(f"marts/{m}", "ge_suite") for m in marts}
    assert ("marts/district_progress", "district_progress_city_row_is_the_sum", "ERROR", True) in {
        (a, c, sev, p) for a, c, sev, p, _ in status}
    assert len({run for *_, run in status}) == 1
    assert not [row for row in status if row[2] == "ERROR" and not row[3]]


def test_a_broken_warehouse_blocks_publication_and_names_the_check(two_runs, tmp_path):
    """The file registry no longer balances (a file's rows_loaded raised behind the loader's back): the loader's
    own blocking check fails in the next run, Dagster runs nothing downstream, and the run names the check as the
    Dagster instance recorded it. (A broken mart is stopped by its suite the same way: test_quality_gate.py.)"""
    home, _, _ = two_runs
    broken = tmp_path / "home"
    shutil.copytree(home, broken, symlinks=True)
    published = broken / "published" / "sewershare.duckdb"
    before = _sha256(published)
    extracts_before = {p.name: _sha256(p) for p in (broken / "extracts" / "all").glob("*.parquet")}
    con = duck.connect(broken / "warehouse" / "sewershare.duckdb", extensions=())
    try:
        con.execute("""UPDATE audit.file_registry SET rows_loaded = rows_loaded + 1
                       WHERE file_id = (SELECT min(file_id) FROM audit.file_registry
                                        WHERE feed = 'drainage_permits' AND status = 'loaded')""")
    finally:
        con.close()
    env = {k: v for k, v in os.environ.items() if k not in ("SEWERSHARE_HOME", "DAGSTER_HOME")}
    # A hand edit of the warehouse is no change the run plan knows of (no file, no model): --full re-checks all.
    result = subprocess.run([SEWERSHARE, "run", "--home", str(broken), "--no-sample", "--full"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=1200)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-3000:]
    assert "check 'ingest_accounting' on asset 'raw/drainage_permits'" in output
    assert "dbt build" not in output  # nothing downstream of a failed blocking check started
    assert _sha256(published) == before
    assert {p.name: _sha256(p) for p in (broken / "extracts" / "all").glob("*.parquet")} == extracts_before


def test_dbt_docs_generate_documents_every_mart(two_runs, tmp_path):
    home, _, _ = two_runs
    dbt = str(Path(sys.executable).with_name("dbt"))
    target = tmp_path / "target"
    result = subprocess.run(
        [dbt, "docs", "generate", "--profiles-dir", ".", "--target-path", str(target),
         "--vars", json.dumps({"warehouse_path": str(home / "warehouse" / "sewershare.duckdb")})],
        cwd=REPO / "dbt_project", capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:]
    catalog = json.loads((target / "catalog.json").read_text(encoding="utf-8"))
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    marts = {n["name"]: n for n in manifest["nodes"].values()
             if n["resource_type"] == "model" and n["schema"] == "marts"}
    assert {"pipe_segments", "district_progress", "city_bod5_kpi"} <= set(marts)
    for name, node in marts.items():
        built = catalog["nodes"][node["unique_id"]]["columns"]
        assert node["description"], name
        undocumented = [c for c in built if not node["columns"].get(c, {}).get("description")]
        assert not undocumented, (name, undocumented)


def test_published_sample_data_say_so(two_runs):
    """The home was filled by --sample: every manifest and the published copy carry the notice analysts see."""
    import json

    home, first, _ = two_runs
    assert first.returncode == 0, first.stderr[-3000:]
    manifests = list((home / "extracts" / "all").glob("*.manifest.json"))
    assert manifests
    for path in manifests:
        m = json.loads(path.read_text(encoding="utf-8"))
        assert m["sample_data"] is True and m["数据性质"].startswith("合成样例数据")
    con = duck.connect(home / "published" / "sewershare.duckdb", read_only=True, extensions=())
    try:
        assert con.execute("SELECT sample_data FROM meta.data_nature").fetchall() == [(True,)]
        comments = [c for (c,) in con.execute("SELECT comment FROM duckdb_tables() WHERE schema_name = 'marts'")
                    .fetchall()]
        assert comments and all(c.startswith("【合成样例数据") for c in comments)
    finally:
        con.close()
