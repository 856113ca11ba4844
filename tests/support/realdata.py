"""``../shared/realdata``: the real public data some tests compare with (README.txt there).

CI has it beside the checkout, so a test that needs it fails, with the places it looked at, when it is missing;
it never skips (a skipped comparison with real data looks like a passed one). A git worktree under a sibling
folder finds it in a parent folder too; ``$SEWERSHARE_REALDATA`` overrides.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REALDATA_ENV = "SEWERSHARE_REALDATA"
REPO = Path(__file__).resolve().parents[2]


def find_realdata() -> Path:
    """The real-data folder; FileNotFoundError naming the places looked at."""
    tried = []
    if os.environ.get(REALDATA_ENV):
        tried.append(Path(os.environ[REALDATA_ENV]))
    tried += [parent / "shared" / "realdata" for parent in REPO.parents]
    for candidate in tried:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        "真实数据目录 ../shared/realdata 不存在，此测试需要它 (the real data folder ../shared/realdata is missing "
        f"and this test needs it; CI has it). Looked at: {', '.join(map(str, tried))}; or set ${REALDATA_ENV}.")


def realdata_dir() -> Path:
    """The real-data folder, or ``pytest.fail`` (never a skip) naming where it was looked for."""
    try:
        return find_realdata()
    except FileNotFoundError as exc:
        pytest.fail(str(exc), pytrace=False)
