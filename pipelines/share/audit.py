"""The audit trail: an append-only, hash-chained log of every token issued or revoked, request, decision, download
and refusal — who, what, which version, how many rows, and the sha256 of what was delivered.

``share/audit.jsonl``: one JSON object a line. Each line carries ``prev`` (the hash of the line before; 64 zeros for
the first) and ``hash`` = sha256(prev + the line's canonical JSON without ``hash``). Lines are appended under an
exclusive lock, so the portal and CLI commands may write at the same time. After each append the head (last seq and
hash) is also recorded in the state store: editing any line breaks its hash, deleting a line breaks the chain, and
cutting lines off the end leaves the file shorter than the recorded head. ``sewershare audit verify`` checks all of it.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.home import DataHome
from pipelines.share import store

GENESIS = "0" * 64


def audit_path(home: DataHome) -> Path:
    return home.root / "share" / "audit.jsonl"


def _digest(prev: str, entry: dict[str, Any]) -> str:
    body = json.dumps({k: v for k, v in entry.items() if k != "hash"}, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha256((prev + body).encode("utf-8")).hexdigest()


def _last_line(fh) -> str | None:
    fh.seek(0, os.SEEK_END)
    end = fh.tell()
    if end == 0:
        return None
    size = min(end, 8192)
    while True:
        fh.seek(end - size)
        chunk = fh.read(size)
        lines = chunk.rstrip(b"\n").split(b"\n")
        if len(lines) > 1 or size == end:
            return lines[-1].decode("utf-8")
        size = min(end, size * 2)


def record(home: DataHome, action: str, *, actor: str, recipient: str | None = None, dataset: str | None = None,
           version: str | None = None, rows: int | None = None, sha256: str | None = None,
           outcome: str = "ok", detail: dict[str, Any] | None = None) -> dict[str, Any]:
    """Append one entry and move the head. ``actor`` is who acted (a recipient id, ``cli:<user>``)."""
    path = audit_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            last = _last_line(fh)
            prev_entry = json.loads(last) if last else None
            entry = {
                "seq": (prev_entry["seq"] + 1) if prev_entry else 1,
                "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
                "actor": actor, "action": action, "outcome": outcome, "recipient": recipient,
                "dataset": dataset, "version": version, "rows": rows, "sha256": sha256,
                "detail": detail or {}, "prev": prev_entry["hash"] if prev_entry else GENESIS,
            }
            entry["hash"] = _digest(entry["prev"], entry)
            fh.seek(0, os.SEEK_END)
            fh.write((json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
            with store.transaction(home) as con:
                con.execute("INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?) "
                            "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
                            [entry["seq"], entry["hash"]])
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
    return entry


@dataclass
class Verification:
    ok: bool
    entries: int
    problems: list[str]


def read_entries(home: DataHome) -> list[dict[str, Any]]:
    path = audit_path(home)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def verify(home: DataHome) -> Verification:
    """Check every line's hash, the chain of ``prev`` links, consecutive sequence numbers and the recorded head."""
    path = audit_path(home)
    problems: list[str] = []
    prev, expected_seq, count, by_seq = GENESIS, 1, 0, {}
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    for n, line in enumerate(lines, start=1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            problems.append(f"第 {n} 行不是有效记录 (line {n} is not valid JSON)")
            break
        if entry.get("seq") != expected_seq:
            problems.append(f"第 {n} 行序号 {entry.get('seq')}，应为 {expected_seq}：有记录被删除或插入 "
                            f"(line {n}: seq {entry.get('seq')}, expected {expected_seq})")
            break
        if entry.get("prev") != prev:
            problems.append(f"第 {n} 行与上一条记录的链接断开 (line {n}: prev hash does not match line {n - 1})")
            break
        if _digest(prev, entry) != entry.get("hash"):
            problems.append(f"第 {n} 行内容被修改 (line {n}: content does not match its hash)")
            break
        prev, expected_seq, count = entry["hash"], expected_seq + 1, count + 1
        by_seq[entry["seq"]] = entry["hash"]
    if not problems:
        with store.connect(home) as con:
            head = con.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
        if head is not None:
            if head["seq"] > count:
                problems.append(f"日志末尾缺少记录：已记录至第 {head['seq']} 条，文件只有 {count} 条 "
                                f"(entries cut off the end: head {head['seq']}, file {count})")
            elif by_seq.get(head["seq"]) != head["hash"]:
                problems.append(f"第 {head['seq']} 条记录与已登记的链头不符 (entry {head['seq']} ≠ recorded head)")
        elif count:
            problems.append("链头记录缺失 (the recorded head is missing)")
    return Verification(ok=not problems, entries=count, problems=problems)


def monthly_usage(home: DataHome, month: str | None = None) -> list[dict[str, Any]]:
    """月度使用统计: per month and recipient, downloads, rows and bytes delivered, refusals, requests and decisions."""
    rows: dict[tuple[str, str], dict[str, Any]] = defaultdict(lambda: {
        "downloads": 0, "rows": 0, "datasets": set(), "refusals": 0, "requests": 0, "approved": 0, "refused": 0})
    for e in read_entries(home):
        m = e["at"][:7]
        if month and m != month:
            continue
        who = e.get("recipient") or e.get("actor")
        r = rows[(m, who)]
        if e["action"] == "download" and e["outcome"] == "ok":
            r["downloads"] += 1
            r["rows"] += e.get("rows") or 0
            r["datasets"].add(e.get("dataset"))
        elif e["outcome"] == "refused":
            r["refusals"] += 1
        elif e["action"] == "request_submitted":
            r["requests"] += 1
        elif e["action"] == "request_approved":
            r["approved"] += 1
        elif e["action"] == "request_refused":
            r["refused"] += 1
    return [{"month": m, "recipient": who, **{k: (len(v) if isinstance(v, set) else v) for k, v in r.items()}}
            for (m, who), r in sorted(rows.items())]
