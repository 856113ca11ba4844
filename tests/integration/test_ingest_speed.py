"""Ingestion speed against DuckDB alone reading the same files into tables without any checks (issue 3).

Slow (``make benchmark``): generates a sample (scale ``SEWERSHARE_BENCH_SCALE``, default 0.1), then per feed
times (a) DuckDB alone: each file read into a table with its natural reader (read_csv with auto-detection,
read_xlsx over the used range, ST_Read, and for HJ 212 logs the packet lines with their key=value fields
extracted), and (b) ``ingest_feed`` on the same files. Both write to a fresh warehouse file. The baseline is
measured before and after the ingest and the faster one is kept, so a burst of load on the machine does not
flatter the ratio. Target: overall speed ≥ 0.5 of DuckDB alone. A second ratio against the HJ 212 lines
alone (no fields) is printed for the record.
"""
import os
import shutil
import time
from pathlib import Path

import pytest

from pipelines import duck, sample
from pipelines.bench import alone
from pipelines.contracts import FEEDS, load_contracts
from pipelines.home import DataHome
from pipelines.ingest import ingest_feed

SCALE = float(os.environ.get("SEWERSHARE_BENCH_SCALE", "0.1"))


def duckdb_alone(landing: Path, feed: str, db: Path, hj212_fields: bool = True) -> float:
    files = sorted((landing / feed).iterdir())
    return alone.duckdb_alone(files, feed, db, hj212_fields)["seconds"]


def ingest_alone(landing: Path, feed: str, work: Path) -> float:
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(landing / feed, work / "landing" / feed)
    home = DataHome(work).ensure()
    con = duck.connect(home.warehouse)
    started = time.perf_counter()
    try:
        result = ingest_feed(load_contracts()[feed], home, con, "bench")
    finally:
        con.close()
    assert result.balanced
    return time.perf_counter() - started


@pytest.mark.slow
def test_ingestion_runs_at_half_the_speed_of_duckdb_alone(tmp_path):
    root = tmp_path / "sample"
    sample.generate(root, scale=SCALE, seed=42, progress=False)
    landing = root / "landing"
    rows, total_base, total_lines, total_ingest = [], 0.0, 0.0, 0.0
    for feed in FEEDS:
        first = duckdb_alone(landing, feed, tmp_path / "alone.duckdb")
        ingest = ingest_alone(landing, feed, tmp_path / "ingest")
        base = min(first, duckdb_alone(landing, feed, tmp_path / "alone.duckdb"))
        lines = duckdb_alone(landing, feed, tmp_path / "alone.duckdb", hj212_fields=False) \
            if feed == "plant_online" else base
        rows.append((feed, base, ingest))
        total_base, total_lines, total_ingest = total_base + base, total_lines + lines, total_ingest + ingest
    report = "\n".join(f"{feed:18} DuckDB alone {base:7.2f}s  ingest {ingest:7.2f}s  speed {base / ingest:4.2f}"
                       for feed, base, ingest in rows)
    print(f"\nscale {SCALE}\n{report}\nTOTAL DuckDB alone {total_base:.2f}s, ingest {total_ingest:.2f}s, "
          f"speed {total_base / total_ingest:.2f} (HJ 212 as lines only: {total_lines / total_ingest:.2f})")
    assert total_base / total_ingest >= 0.5
