"""``sewershare-dbt``: dbt, started so that it dies with the process that started it (issue 14, crash-safe runs).

dagster-dbt starts dbt with a plain ``subprocess.Popen`` (no ``preexec_fn``), so this launcher is the resource's
``dbt_executable``: it puts itself in a process group of its own, asks Linux for SIGKILL when its parent dies
(``prctl(PR_SET_PDEATHSIG)``, kept across ``execve``; man 2 prctl), and then ``exec``s dbt in the same process.
A run killed with ``kill -9`` (or by the OOM killer) thus takes its dbt child with it at once, instead of dbt
writing the warehouse for seconds more while the rerun meets its lock.

- Own process group: a terminal's Ctrl-C reaches the run only; Dagster then stops dbt itself (dagster-dbt sends
  SIGINT to the child on interruption), so dbt is never interrupted twice or before the run knows.
- The race where the parent dies between ``fork`` and ``prctl``: the parent's pid is passed in
  ``SEWERSHARE_DBT_PARENT``; if ``getppid()`` is no longer that pid after ``prctl``, the launcher exits at once.
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys
from pathlib import Path

PR_SET_PDEATHSIG = 1
PARENT_ENV = "SEWERSHARE_DBT_PARENT"
EXECUTABLE_ENV = "SEWERSHARE_DBT_EXECUTABLE"


def _dbt() -> str:
    if os.environ.get(EXECUTABLE_ENV):         # another dbt (and the launcher's own tests)
        return os.environ[EXECUTABLE_ENV]
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


def main() -> None:
    try:
        os.setpgid(0, 0)
    except OSError:           # already a group leader (started with start_new_session): nothing to do
        pass
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            print(f"sewershare-dbt: prctl failed errno={ctypes.get_errno()}", file=sys.stderr)
    parent = os.environ.get(PARENT_ENV)
    if parent and os.getppid() != int(parent):
        os._exit(137)         # the run died before the death signal was armed: dbt must not start at all
    dbt = _dbt()
    os.execv(dbt, [dbt, *sys.argv[1:]])


if __name__ == "__main__":
    main()
