"""``../shared/realdata``: the real public data some tests compare with (README.txt there).

CI has it beside the checkout, so a test that needs it fails, with the places it looked at, when it is missing;
it never skips (a skipped comparison with real data looks like a passed one). A git worktree under a sibling
folder finds it in a parent folder too; ``$SEWERSHARE_REALDATA`` overrides.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ENV = "SEWERSHARE_REALDATA"
REPO = Path(__file__).resolve().parents[2]


def realdata_dir() -> Path:
    """The real-data folder, or ``pytest.fail`` naming where it was looked for."""
    tried = []
    if os.environ.get(ENV):
        tried.append(Path(os.environ[ENV]))
    tried += [parent / "shared" / "realdata" for parent in REPO.parents]
    for candidate in tried:
        if candidate.is_dir():
            return candidate
    pytest.fail("真实数据目录 ../shared/realdata 不存在，此测试需要它 (the real data folder ../shared/realdata is "
                f"missing and this test needs it; CI has it). Looked at: {', '.join(map(str, tried))}; "
                f"or set ${ENV}.", pytrace=False)
