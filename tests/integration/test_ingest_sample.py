"""The scale-0.01 sample (pipelines.sample) loaded feed by feed and compared with sample_truth.json:
per-file accounting, the quarantine exactly (same rows, same (field, rule) pairs), corrections with
history, a second run that loads nothing and a renamed copy that is skipped."""
import collections
import shutil
from pathlib import Path

import pytest

from pipelines import duck, sample
from pipelines.contracts import delivered_feeds, load_contracts

FEEDS = delivered_feeds()   # the feeds the sample writes
from pipelines.home import DataHome
from pipelines.ingest import ingest_feed



@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    root = tmp_path_factory.mktemp("sample001")
    truth = sample.generate(root, scale=0.01, seed=42, progress=False)
    home = DataHome(root).ensure()
    con = duck.connect(home.warehouse)
    try:
        results = {feed: ingest_feed(load_contracts()[feed], home, con, "first") for feed in FEEDS}
    finally:
        con.close()
    return home, truth, results


def _query(home, sql, params=None):
    con = duck.connect(home.warehouse, read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_every_file_is_accounted_for(loaded):
    home, truth, results = loaded
    registry = {(feed, name): (read, loaded_, quarantined, status) for feed, name, read, loaded_, quarantined, status
                in _query(home, "SELECT feed, file_name, rows_read, rows_loaded, rows_quarantined, status "
                                "FROM audit.file_registry")}
    for file in truth["files"]:
        name = Path(file["path"]).name
        read, loaded_, quarantined, status = registry.pop((file["feed"], name))
        assert status == "loaded", name
        assert read == file["data_rows"], name
        assert read == loaded_ + quarantined, name
    # Every registered file is one of the truth's: the sample has no unreadable files (the rejection of those
    # is tested on hand-made files in test_ingest_files.py).
    assert registry == {}
    for feed, result in results.items():
        assert result.balanced and not result.files_failed, feed
    assert not [p for feed in FEEDS for p in home.landing_for(feed).iterdir()]


def test_quarantine_matches_the_truth_exactly(loaded):
    home, truth, _ = loaded
    got: dict[tuple[str, str], dict[int, list]] = {}
    for feed in FEEDS:
        for name, row, reasons in _query(home, f"SELECT _source_file, _source_row, reasons FROM quarantine.{feed}"):
            got.setdefault((feed, name), {})[row] = sorted((r["field"], r["rule"]) for r in reasons)
    expected: dict[tuple[str, str], dict[int, list]] = {}
    for file in truth["files"]:
        rows = {r["row"]: sorted((x["field"], x["rule"]) for x in r["reasons"]) for r in file["invalid_rows"]}
        if rows:
            expected[(file["feed"], Path(file["path"]).name)] = rows
    assert got == expected


def test_every_reason_has_both_languages(loaded):
    home, _, _ = loaded
    for feed in FEEDS:
        for name, row, reasons in _query(home, f"SELECT _source_file, _source_row, reasons FROM quarantine.{feed}"):
            for r in reasons:
                assert name in r["message_zh"] and f"第{row}行" in r["message_zh"]
                assert name in r["message_en"] and f"row {row}" in r["message_en"]


def test_corrections_supersede_and_history_keeps_the_old_version(loaded):
    home, truth, _ = loaded
    assert truth["corrections"], "the sample should carry corrections"
    contracts = load_contracts()
    for correction in truth["corrections"]:
        contract = contracts[correction["feed"]]
        name = Path(correction["file"]).name
        originals = {Path(o).name for o in correction["originals"]}
        assert originals, name     # the generator names the files a correction supersedes
        for key in correction["keys"]:
            where = " AND ".join(f'"{k}" = ?' for k in contract.primary_key)
            versions = _query(home, f"SELECT _source_file, _is_current, _valid_to IS NULL FROM raw.{contract.feed} "
                                    f"WHERE {where} ORDER BY _valid_from", list(key))
            assert versions[-1] == (name, True, True), (name, key, versions)
            assert len(versions) >= 2, (name, key)
            assert all(not current and not open_ for _, current, open_ in versions[:-1])
            assert {v[0] for v in versions[:-1]} <= originals


def test_second_run_loads_nothing_and_a_renamed_copy_is_skipped(loaded):
    home, truth, _ = loaded
    con = duck.connect(home.warehouse)
    try:
        again = {feed: ingest_feed(load_contracts()[feed], home, con, "second") for feed in FEEDS}
        assert all(r.files == [] for r in again.values())

        archived = sorted((home.archive / "plant_lab").iterdir())[0]
        shutil.copy(archived, home.landing_for("plant_lab") / ("重新报送_" + archived.name))
        [copy] = ingest_feed(load_contracts()["plant_lab"], home, con, "third").files
        assert copy.status == "skipped_duplicate" and copy.rows_loaded == 0
        before = con.execute("SELECT count(*) FROM raw.plant_lab").fetchone()[0]
        assert before == con.execute("SELECT count(*) FROM raw.plant_lab WHERE _file_id <> ?",
                                     [copy.file_id]).fetchone()[0]
    finally:
        con.close()



# ---- issue 8: the sample goes through the tolerant path every day ---------------------------------
def _findings(home) -> dict[tuple[str, str], list[tuple]]:
    out: dict[tuple[str, str], list[tuple]] = {}
    for feed, name, *rest in _query(home, "SELECT feed, file_name, field, kind, rule, value, count, rows_quarantined "
                                          "FROM audit.file_findings"):
        out.setdefault((feed, name), []).append(tuple(rest))
    return out


def test_descriptive_spoils_are_kept_null_with_their_text_and_counted(loaded):
    """Each row the truth lists in ``kept_rows`` is in raw with the field NULL (or the enum's ``other``), the
    text as sent in ``_unmapped`` (unless it was left empty), and the file's findings count exactly them."""
    home, truth, _ = loaded
    contracts = load_contracts()
    findings = _findings(home)
    checked = 0
    con = duck.connect(home.warehouse, read_only=True)
    for file in truth["files"]:
        name, feed = Path(file["path"]).name, file["feed"]
        expected = collections.Counter((k["field"], k["rule"]) for k in file["kept_rows"])
        got = collections.Counter()
        for field, kind, rule, value, count, quarantined in findings.get((feed, name), []):
            if kind in ("unknown_label", "invalid_value", "missing_value") and count > quarantined:
                got[(field, rule)] += count - quarantined
        assert got == expected, name
        for kept in file["kept_rows"]:
            column = contracts[feed].column(kept["field"])
            [(typed, unmapped)] = con.execute(f'SELECT "{kept["field"]}", _unmapped FROM raw.{feed} '
                                              "WHERE _source_file = ? AND _source_row = ?",
                                              [name, kept["row"]]).fetchall()
            # an unreadable value: NULL, or the enum's declared `other`; a value left empty stays NULL
            assert typed == (None if kept["rule"] == "required" else column.other), (name, kept)
            if kept["rule"] != "required":
                assert unmapped[kept["field"]] is not None, (name, kept)
            if kept["value"] is not None:
                assert unmapped[kept["field"]] == kept["value"], (name, kept)
            checked += 1
    con.close()
    assert checked > 10


def test_header_variants_unmatched_headers_and_missing_columns_are_reported(loaded):
    home, truth, _ = loaded
    findings = _findings(home)
    variants = unmatched = missing = 0
    for file in truth["files"]:
        got = findings.get((file["feed"], Path(file["path"]).name), [])
        assert {(f, v) for f, k, _, v, _, _ in got if k == "header_variant"} == \
            {(h["field"], h["header"]) for h in file["header_variants"]}, file["path"]
        assert sorted(v for _, k, _, v, _, _ in got if k == "unmatched_header") == file["unmatched_headers"]
        assert sorted(f for f, k, *_ in got if k == "missing_column") == file["missing_columns"], file["path"]
        variants += len(file["header_variants"])
        unmatched += len(file["unmatched_headers"])
        missing += len(file["missing_columns"])
    # the sample exercises each of them
    assert variants > 5 and unmatched > 5 and missing > 5


def test_label_variants_load_as_their_code(loaded):
    """Every label the truth wrote in a variant spelling (another label of the code, a space inside, full
    width, a bracketed remark) is stored as the code; rows of a correction that equal the current version
    add no version, so they are looked up by key."""
    home, truth, _ = loaded
    checked = 0
    con = duck.connect(home.warehouse, read_only=True)      # one connection for the hundreds of look-ups
    try:
        for file in truth["files"]:
            name, feed = Path(file["path"]).name, file["feed"]
            for variant in file["label_variants"]:
                rows = con.execute(f'SELECT "{variant["field"]}" FROM raw.{feed} WHERE _source_file = ? '
                                   "AND _source_row = ?", [name, variant["row"]]).fetchall()
                if not rows:
                    continue
                assert rows[0][0] == variant["code"], (name, variant)
                checked += 1
    finally:
        con.close()
    assert checked > 50
    assert not any(f for f in _findings(home).values() for _, kind, _, value, _, _ in f
                   if kind == "unknown_label" and any(value == lv["value"] for ft in truth["files"]
                                                      for lv in ft["label_variants"]))
