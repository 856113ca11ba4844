"""Files waiting in a landing folder, and when a file counts as delivered (settled).

A bureau's upload may still be in progress when the platform looks: a file counts as delivered once its size and
modification time have not changed for ``SETTLE_SECONDS``. The landing sensors also require the same size and
mtime at two successive ticks (``pipelines/ingest/sensors.py``); planned runs (``sewershare run``, the daily
schedule) use the age rule alone.
"""
from __future__ import annotations

import time
from pathlib import Path

from pipelines.contracts import Contract
from pipelines.home import DataHome
from pipelines.ingest.loader import landing_files

SETTLE_SECONDS = 30


def settled_files(contract: Contract, home: DataHome, settle_seconds: float = SETTLE_SECONDS,
                  now: float | None = None) -> list[Path]:
    """Files of ``landing/<feed>/`` in delivery order whose mtime is at least ``settle_seconds`` old."""
    now = time.time() if now is None else now
    settled = []
    for path in landing_files(contract, home):
        try:
            if now - path.lstat().st_mtime >= settle_seconds:   # a link is judged, never followed
                settled.append(path)
        except FileNotFoundError:      # taken by another run meanwhile
            continue
    return settled
