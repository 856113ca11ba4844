"""DuckDB's memory is bounded while a feed loads (``SEWERSHARE_INGEST_MEMORY``, 1 GB by default, issue 13), and a
bound never turns a good file away: a file that runs out of memory under it is read / loaded once more without
it. Shown with a bound far too small for anything (2 MB): the hand-written corpus must load exactly as it does
unbounded (same registry, raw rows, quarantine and findings), and the log must say the fallback was taken (so
the test cannot pass by never running out of memory).
"""
from __future__ import annotations

import logging

import pytest

from pipelines.ingest import loader
from tests.integration.test_ingest_solo import _load


@pytest.mark.parametrize("feed", ["plant_online", "plant_lab"])
def test_a_bound_too_small_still_loads_every_file_as_unbounded(tmp_path, monkeypatch, caplog, feed):
    monkeypatch.setattr(loader, "INGEST_MEMORY_LIMIT", "")
    free = _load(tmp_path / "free", feed)
    monkeypatch.setattr(loader, "INGEST_MEMORY_LIMIT", "2MB")
    with caplog.at_level(logging.WARNING, logger="pipelines.ingest.loader"):
        bound = _load(tmp_path / "bound", feed)
    assert any("once more unbounded" in r.getMessage() for r in caplog.records)
    assert free["registry"] and all(status == "loaded" for _, status, *_ in free["registry"])
    for part in ("balanced", "registry", "raw", "quarantine", "findings"):
        assert bound[part] == free[part], part


def test_the_bound_is_on_by_default():
    """Unless SEWERSHARE_INGEST_MEMORY says otherwise (empty or ``none``: unbounded)."""
    import os

    if "SEWERSHARE_INGEST_MEMORY" not in os.environ:
        assert loader.INGEST_MEMORY_LIMIT == "1GB"
