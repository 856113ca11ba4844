"""Requests for 有条件共享 data: a recipient states 用途 and 场景; an owner of the dataset approves (an entitlement with
an expiry) or refuses with a reason, within a deadline counted in working days under the official holiday calendar.

《政务数据共享条例》 第三章 共享使用: conditional data is obtained by a request stating its use, answered by the
providing department within a time limit; a refusal states its reason. Overdue requests are findings.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pipelines.home import DataHome
from pipelines.share import audit, store
from pipelines.share.config import load_recipients, load_sharing_config
from pipelines.share.workdays import add_working_days


class RequestError(ValueError):
    """A request or decision that cannot be accepted; the message is Chinese, for the person who made it."""


def submit(home: DataHome, recipient: str, dataset: str, purpose: str, scenario: str,
           today: dt.date | None = None) -> int:
    today = today or dt.date.today()
    config = load_sharing_config()
    cfg = config.datasets.get(dataset)
    purpose, scenario = (purpose or "").strip(), (scenario or "").strip()
    if cfg is None:
        raise RequestError("该数据集未列入共享目录")
    if recipient in cfg.all_owners:
        raise RequestError("本部门的数据无需申请")
    if cfg.share_type == "unconditional":
        raise RequestError("无条件共享数据集无需申请，可直接下载")
    if cfg.share_type == "none":
        raise RequestError(f"不予共享数据集不受理申请（依据：{cfg.basis}）")
    if not purpose or not scenario:
        raise RequestError("请填写用途和应用场景")
    due, covered = add_working_days(today, config.response_working_days)
    with store.transaction(home) as con:
        pending = con.execute("SELECT request_id FROM requests WHERE recipient = ? AND dataset = ? AND status = "
                              "'pending'", [recipient, dataset]).fetchone()
        if pending:
            raise RequestError(f"已有待审核的申请（第 {pending['request_id']} 号）")
        cur = con.execute(
            "INSERT INTO requests (recipient, dataset, purpose, scenario, requested_at, due_on, calendar_covered, "
            "status) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending')",
            [recipient, dataset, purpose, scenario, today.isoformat(), due.isoformat(), int(covered)])
        request_id = cur.lastrowid
    audit.record(home, "request_submitted", actor=recipient, recipient=recipient, dataset=dataset,
                 detail={"request_id": request_id, "purpose": purpose, "scenario": scenario, "due_on": due.isoformat()})
    return request_id


def decide(home: DataHome, request_id: int, decider: str, approve: bool, reason: str = "",
           valid_days: int | None = None, today: dt.date | None = None) -> dict:
    """Approve or refuse. Only an owner of the dataset decides; a refusal must give its reason."""
    today = today or dt.date.today()
    config = load_sharing_config()
    reason = (reason or "").strip()
    with store.transaction(home) as con:
        row = con.execute("SELECT * FROM requests WHERE request_id = ?", [request_id]).fetchone()
        if row is None:
            raise RequestError("没有该申请")
        cfg = config.datasets[row["dataset"]]
        if decider not in cfg.all_owners:
            raise RequestError("只有该数据集的数据责任部门可以审批")
        if row["status"] != "pending":
            raise RequestError(f"该申请已处理（{row['status']}）")
        if not approve and not reason:
            raise RequestError("不予批准须说明理由")
        expires = (today + dt.timedelta(days=valid_days or config.approval_valid_days)).isoformat() if approve else None
        con.execute("UPDATE requests SET status = ?, decided_at = ?, decided_by = ?, reason = ?, expires_on = ? "
                    "WHERE request_id = ?",
                    ["approved" if approve else "refused", today.isoformat(), decider, reason, expires, request_id])
    audit.record(home, "request_approved" if approve else "request_refused", actor=decider,
                 recipient=row["recipient"], dataset=row["dataset"],
                 detail={"request_id": request_id, "reason": reason, "expires_on": expires,
                         "overdue": today.isoformat() > row["due_on"]})
    return {**dict(row), "status": "approved" if approve else "refused", "expires_on": expires}


@dataclass(frozen=True)
class Finding:
    request_id: int
    recipient: str
    dataset: str
    due_on: str
    message: str


def list_requests(home: DataHome, *, recipient: str | None = None, owner: str | None = None) -> list[dict]:
    """Requests made by ``recipient``, or addressed to ``owner`` (requests for the datasets it owns)."""
    config = load_sharing_config()
    with store.connect(home) as con:
        rows = [dict(r) for r in con.execute("SELECT * FROM requests ORDER BY request_id DESC")]
    if recipient:
        rows = [r for r in rows if r["recipient"] == recipient]
    if owner:
        rows = [r for r in rows if r["dataset"] in config.datasets and owner in config.datasets[r["dataset"]].all_owners]
    return rows


def overdue(home: DataHome, today: dt.date | None = None) -> list[Finding]:
    """Pending requests past their answer date: findings for the owning bureau and the platform operator."""
    today = today or dt.date.today()
    names = load_recipients()
    out = []
    for r in list_requests(home):
        if r["status"] == "pending" and r["due_on"] < today.isoformat():
            who = names[r["recipient"]].name_zh if r["recipient"] in names else r["recipient"]
            out.append(Finding(r["request_id"], r["recipient"], r["dataset"], r["due_on"],
                               f"申请第 {r['request_id']} 号（{who} 申请 {r['dataset']}）已超过答复期限 {r['due_on']}"))
    return out
