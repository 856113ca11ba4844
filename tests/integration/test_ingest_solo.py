"""A large file is checked alone through a view of its reader's table (issue 13), not copied into the batch
table. The shortcut must give exactly what the batch path gives: the hand-written corpus is loaded twice, once as usual and once with every file taken as large
(``SOLO_FILE_BYTES = 0``), and every table the loader writes is compared row for row (load times and file ids
aside, which differ between any two loads). A correction file (更正) after the original exercises the
supersession of current rows across batches.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelines import duck
from pipelines.contracts import load_contracts
from pipelines.home import DataHome
from pipelines.ingest import ingest_feed, loader

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
CONTRACTS = load_contracts()
# one feed per reader (csv, xlsx, geo, hj212) and the one with a correction file (supersession across batches)
FEEDS = ["plant_lab", "inspections", "census_pipes", "plant_online", "drainage_permits"]


def _load(root: Path, feed: str) -> dict:
    home = DataHome(root).ensure()
    folder = home.landing / feed
    folder.mkdir(parents=True, exist_ok=True)
    files = sorted((p for p in (CORPUS / feed).iterdir() if p.is_file()), key=lambda p: ("更正" in p.name, p.name))
    for i, p in enumerate(files):
        shutil.copy(p, folder / p.name)
        t = 1_700_000_000 + i
        import os
        os.utime(folder / p.name, (t, t))
    con = duck.connect(home.warehouse)
    try:
        result = ingest_feed(CONTRACTS[feed], home, con, "solo", strict=False)
        names = con.execute("SELECT column_name FROM duckdb_columns() WHERE schema_name = 'raw' AND table_name = ? "
                            "AND column_name NOT IN ('_file_id', '_valid_from', '_valid_to') ORDER BY column_index",
                            [feed]).fetchall()
        cols = ", ".join(f'"{n}"' for (n,) in names)
        raw = con.execute(f"SELECT {cols}, _valid_to IS NULL FROM raw.{feed} ORDER BY ALL").fetchall()
        quarantine = con.execute(f"SELECT _source_file, _source_row, raw_values::VARCHAR, reasons::VARCHAR "
                                 f"FROM quarantine.{feed} ORDER BY ALL").fetchall()
        findings = con.execute("SELECT * EXCLUDE (file_id, run_id, found_at) FROM audit.file_findings "
                               "WHERE feed = ? ORDER BY ALL", [feed]).fetchall()
        registry = con.execute("SELECT file_name, status, rows_read, rows_loaded, rows_quarantined, rows_new, "
                               "rows_changed, rows_unchanged, rows_unmapped FROM audit.file_registry "
                               "WHERE feed = ? ORDER BY ALL", [feed]).fetchall()
    finally:
        con.close()
    return {"balanced": result.balanced, "raw": raw, "quarantine": quarantine, "findings": findings,
            "registry": registry}


@pytest.mark.parametrize("feed", FEEDS)
def test_a_file_checked_alone_gives_what_the_batch_gives(tmp_path, monkeypatch, feed):
    batched = _load(tmp_path / "batched", feed)
    monkeypatch.setattr(loader, "SOLO_FILE_BYTES", 0)
    alone = _load(tmp_path / "alone", feed)
    assert batched["registry"] and batched["balanced"] == alone["balanced"]
    for part in ("registry", "raw", "quarantine", "findings"):
        assert alone[part] == batched[part], part
