"""DuckDB runs with a memory limit and spills into the data home, never the working directory (issue 14)."""
import os
import subprocess
import sys

from pipelines import duck


def test_connections_carry_the_memory_limit_and_a_temp_directory_in_the_home(tmp_path, monkeypatch):
    """4GB is 4 × 1000³ bytes in DuckDB's units, shown by DuckDB as 3.7 GiB."""
    monkeypatch.delenv("SEWERSHARE_DUCKDB_TEMP", raising=False)
    monkeypatch.setenv("SEWERSHARE_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    con = duck.connect(tmp_path / "home" / "warehouse.duckdb", extensions=())
    try:
        limit, temp = con.execute("SELECT current_setting('memory_limit'), current_setting('temp_directory')"
                                  ).fetchone()
    finally:
        con.close()
    assert limit == "3.7 GiB"
    assert temp == str(tmp_path / "home" / "tmp" / "duckdb")


def test_a_spilling_query_writes_under_the_home_not_the_working_directory(tmp_path):
    """A sort of 3 million strings under a 64 MB limit must spill (~100 MB of data) and still finish; the
    working directory stays empty."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = {**os.environ, "SEWERSHARE_HOME": str(tmp_path / "home"), "SEWERSHARE_DUCKDB_MEMORY_LIMIT": "64MB"}
    env.pop("SEWERSHARE_DUCKDB_TEMP", None)
    code = ("from pipelines import duck; con = duck.connect(extensions=()); "
            "print(con.execute(\"SELECT count(*) FROM (SELECT md5(i::VARCHAR) || repeat('x', 20) s FROM range(3000000) t(i) "
            "ORDER BY s)\").fetchone()[0])")
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, env={**env, "PYTHONPATH": os.getcwd()},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1].split()[-1] == "3000000"
    assert (tmp_path / "home" / "tmp" / "duckdb").is_dir()
    assert list(cwd.iterdir()) == []
