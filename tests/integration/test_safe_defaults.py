"""Safe defaults of `sewershare run` (issue 14): no sample into a home nobody asked for, one bilingual message
for a home that cannot be written, never a traceback."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SEWERSHARE = str(Path(sys.executable).with_name("sewershare"))


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("SEWERSHARE_HOME", "DAGSTER_HOME")}
    return subprocess.run([SEWERSHARE, "run", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_a_mistyped_home_is_not_created_filled_or_published(tmp_path):
    home = tmp_path / "mistyped" / "path"
    done = _run("--home", str(home))
    assert done.returncode == 2
    assert not home.exists() and not (tmp_path / "mistyped").exists()
    assert "数据目录不存在" in done.stderr and "does not exist" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_a_read_only_home_gives_one_bilingual_message(tmp_path):
    """/sys is mounted read-only: creating the home fails (EPERM/EROFS) → exit 3, our message, no traceback."""
    done = _run("--home", "/sys/sewershare_home", "--sample")
    assert done.returncode == 3, done.stderr[-2000:]
    assert "数据目录不可写、只读或磁盘已满" in done.stderr and "not writable, read-only or full" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
