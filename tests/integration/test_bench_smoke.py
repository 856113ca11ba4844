"""The benchmark command's code on tiny inputs (the measurements themselves are `make benchmark`).

Checks what the figures rest on, not the figures: the large-file writers give the rows asked for with distinct
keys and valid HJ 212 framing; the three contenders read the same file and account for every row; the report
says which target each ratio meets.
"""
from __future__ import annotations

import json

from pipelines import duck
from pipelines.bench.bigfiles import write_large
from pipelines.bench.cli import BEGIN, END, write_doc
from pipelines.bench.report import render
from pipelines.bench.suite import compare
from pipelines.ingest.readers.hj212 import integrity


def test_large_files_have_the_rows_asked_for_with_distinct_keys(tmp_path):
    lab = write_large(tmp_path, "plant_lab", 3000)
    log = write_large(tmp_path, "plant_online", 3000)
    con = duck.connect(None, extensions=())
    # 3000 rows = 1500 plant-days × (进水, 出水): every key once
    assert con.execute(f"SELECT count(*), count(DISTINCT (厂站编号, 采样日期, 采样点)) FROM read_csv('{lab}', "
                       "all_varchar = true)").fetchone() == (3000, 3000)
    import pyarrow as pa
    lines = pa.array(log.read_text().splitlines())
    frame, length, crc = integrity(lines)
    # every packet framed and of the right length; one in 1009 from the 12th garbled (indexes 11, 1020, 2029)
    assert len(lines) == 3000 and frame.all() and length.all()
    assert sorted((~crc).nonzero()[0].tolist()) == [11, 1020, 2029]


def test_compare_accounts_for_every_row_of_each_contender(tmp_path):
    lab = write_large(tmp_path / "large", "plant_lab", 1000)
    row = compare("plant_lab", [lab], tmp_path / "work", repeat=1, peer=True)
    assert row["alone"]["ok"] and row["ingest"]["ok"] and row["peer"]["ok"], json.dumps(row)[:3000]
    assert row["alone"]["out"]["rows"] == 1000
    ingest = row["ingest"]["out"]
    assert ingest["rows"] == 1000 and ingest["balanced"] and ingest["loaded"] + ingest["quarantined"] == 1000
    # 未测 in BOD5 at rows 5 and 1002 (i % 997 = 5): only row 5 is in the first 1000 → one quarantined row
    assert ingest["quarantined"] == 1
    peer = row["peer"]["out"]
    assert peer["loaded"] + peer["quarantined"] == 1000
    text = render({"large": {"plant_lab": {**row, "rows": 1000}}, "load": []})
    assert "plant_lab" in text and ("✅ met" in text or "❌ not met" in text)
    doc = tmp_path / "benchmark.md"
    doc.write_text(f"# B\n\nintro\n\n{BEGIN}\nold\n{END}\n\nafter\n", encoding="utf-8")
    write_doc(doc, "NEW")
    assert doc.read_text(encoding="utf-8") == f"# B\n\nintro\n\n{BEGIN}\nNEW\n{END}\n\nafter\n"
