"""Where quality results live: files under ``reports/quality/`` in the data home.

The checks read the warehouse through a read-only connection, which cannot write, and Dagster may run several
checks in parallel processes; so results are small JSON files written atomically (temp file + ``os.replace``),
one file per check, and the run history is a JSON-lines file appended under a file lock.

    reports/quality/state/<check>.json        what each check has validated (batch fingerprints), for increments
    reports/quality/results/<check>.json      the latest result of each check (the publication gate reads these)
    reports/quality/history.jsonl             one line per check evaluation (the trend over runs)
    reports/quality/validations/<suite>/      great-expectations validation results (data docs are built from them)
"""
from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipelines.home import DataHome


def _default(value: Any) -> Any:
    # numpy scalars, dates and timestamps appear in GE results and samples
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (set, tuple)):
        return list(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    return str(value)


def dumps(obj: Any, **kwargs: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, default=_default, **kwargs)


def write_json_atomic(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(dumps(obj, indent=1))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path, default: Any = None) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default


@contextmanager
def locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(path.suffix + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def safe_name(check_id: str) -> str:
    return check_id.replace("/", "__").replace(" ", "_")


class QualityStore:
    def __init__(self, home: DataHome):
        self.root = home.reports / "quality"

    @property
    def history_path(self) -> Path:
        return self.root / "history.jsonl"

    def state_path(self, check_id: str) -> Path:
        return self.root / "state" / f"{safe_name(check_id)}.json"

    def result_path(self, check_id: str) -> Path:
        return self.root / "results" / f"{safe_name(check_id)}.json"

    def validations_dir(self, suite_name: str) -> Path:
        return self.root / "validations" / safe_name(suite_name)

    def load_state(self, check_id: str) -> dict[str, Any]:
        return read_json(self.state_path(check_id), {}) or {}

    def save_state(self, check_id: str, state: dict[str, Any]) -> None:
        write_json_atomic(self.state_path(check_id), state)

    def save_result(self, record: dict[str, Any]) -> None:
        write_json_atomic(self.result_path(record["check_id"]), record)
        with locked(self.history_path):
            with open(self.history_path, "a", encoding="utf-8") as fh:
                fh.write(dumps(_history_line(record)) + "\n")

    def latest_results(self) -> dict[str, dict[str, Any]]:
        out = {}
        for path in sorted((self.root / "results").glob("*.json")):
            record = read_json(path)
            if record:
                out[record["check_id"]] = record
        return out

    def history(self) -> list[dict[str, Any]]:
        if not self.history_path.exists():
            return []
        with open(self.history_path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]

    def save_validation(self, suite_name: str, chunk_id: str, validation: dict[str, Any], keep: int = 20) -> None:
        directory = self.validations_dir(suite_name)
        write_json_atomic(directory / f"{chunk_id}.json", validation)
        # the data docs show recent validations; older ones survive in history.jsonl as counts
        files = sorted(directory.glob("*.json"))
        for old in files[:-keep]:
            old.unlink(missing_ok=True)


def _history_line(record: dict[str, Any]) -> dict[str, Any]:
    """The history keeps counts, not samples, so it stays small over years of daily runs."""
    keep = ("check_id", "check", "asset", "title_zh", "kind", "feed", "bureau", "run_id", "evaluated_at",
            "passed", "severity", "failing_rows", "batches_validated", "batches_total", "reused")
    line = {k: record.get(k) for k in keep}
    line["failed"] = [
        {"label": f["label"], "severity": f["severity"], "count": f.get("unexpected_count")}
        for f in record.get("findings", []) if not f.get("success")
    ]
    return line
