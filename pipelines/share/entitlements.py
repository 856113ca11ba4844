"""Who may have which dataset, and in what form.

- 无条件共享: every department and district government (《政务数据共享条例》 第二章: unconditional data is shared
  without a request).
- 有条件共享: only on an approved request, until the approval's expiry.
- 不予共享: never leaves its owners.
- The owners (提供方 and co-owners of sharing/datasets.yml) always have their datasets, unmasked.
- Form: personal fields (pipelines/publish/policy.py, from the contracts) are masked for everyone but the owners;
  a district government receives only its district's rows of every dataset that has a district column.

Decided on every request by the portal, so an expiry, a revocation or an approval takes effect at once.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pipelines.home import DataHome
from pipelines.publish.policy import Recipient, personal_columns
from pipelines.share import store
from pipelines.share.config import RecipientInfo, load_recipients, load_sharing_config


@dataclass(frozen=True)
class Access:
    allowed: bool
    basis: str                      # why allowed, in Chinese (无条件共享 / 数据责任部门 / 申请第 N 号批准)
    reason: str = ""                # why refused, in Chinese
    expires_on: str | None = None
    request_id: int | None = None
    can_request: bool = False       # refused, but a request may change that


def access(home: DataHome, recipient: str, dataset: str, today: dt.date | None = None) -> Access:
    today = today or dt.date.today()
    config = load_sharing_config()
    recipients = load_recipients()
    cfg = config.datasets.get(dataset)
    if cfg is None:
        return Access(False, "", "该数据集未列入共享目录")
    if recipient not in recipients:
        return Access(False, "", "未知的共享对象")
    if recipient in cfg.all_owners:
        return Access(True, "数据责任部门（本部门数据）")
    if cfg.share_type == "none":
        return Access(False, "", f"该数据集为不予共享类，仅数据责任部门可用（依据：{cfg.basis}）")
    if cfg.share_type == "unconditional":
        return Access(True, "无条件共享")
    with store.connect(home) as con:
        rows = con.execute(
            "SELECT request_id, status, expires_on, reason FROM requests WHERE recipient = ? AND dataset = ? "
            "ORDER BY request_id DESC", [recipient, dataset]).fetchall()
    for r in rows:
        if r["status"] == "approved" and r["expires_on"] and r["expires_on"] >= today.isoformat():
            return Access(True, f"有条件共享：申请第 {r['request_id']} 号已批准，有效期至 {r['expires_on']}",
                          expires_on=r["expires_on"], request_id=r["request_id"])
    latest = rows[0] if rows else None
    if latest is not None and latest["status"] == "pending":
        return Access(False, "", f"有条件共享数据集：申请第 {latest['request_id']} 号正在审核，批准后方可下载",
                      request_id=latest["request_id"])
    if latest is not None and latest["status"] == "approved":
        return Access(False, "", f"有条件共享数据集：申请第 {latest['request_id']} 号的授权已于 "
                                 f"{latest['expires_on']} 到期，请重新申请", can_request=True)
    if latest is not None and latest["status"] == "refused":
        return Access(False, "", f"有条件共享数据集：申请第 {latest['request_id']} 号未获批准（理由：{latest['reason']}）",
                      can_request=True)
    return Access(False, "", f"有条件共享数据集：须说明用途和场景提出申请，经提供方批准后方可下载。共享条件：{cfg.conditions}",
                  can_request=True)


@dataclass(frozen=True)
class ExtractPolicy:
    """The form of a dataset for a recipient: what is masked and which rows it gets."""
    dataset: str
    unmasked: frozenset[str] = frozenset()
    row_filter: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Recipients with the same key receive identical files."""
        f = ",".join(f"{k}={v}" for k, v in sorted(self.row_filter.items())) or "all-rows"
        m = ",".join(sorted(self.unmasked)) or "masked"
        return f"{self.dataset}|{f}|{m}"

    def as_recipient(self, name: str) -> Recipient:
        return Recipient(name=name, unmasked=self.unmasked, row_filter=dict(self.row_filter))


def extract_policy(recipient: RecipientInfo, dataset: str, columns: list[str],
                   meta: dict[str, dict] | None = None) -> ExtractPolicy:
    config = load_sharing_config()
    cfg = config.datasets[dataset]
    unmasked = frozenset(f"{dataset}.{c}" for c in personal_columns(dataset, columns, meta)) \
        if recipient.id in cfg.all_owners else frozenset()
    row_filter = {}
    if recipient.kind == "district_government" and config.district_column in columns:
        row_filter[config.district_column] = "'" + str(recipient.district_code).replace("'", "''") + "'"
    return ExtractPolicy(dataset, unmasked, row_filter)


def prepared_for(recipient: RecipientInfo, dataset: str) -> bool:
    """Whether an extract is prepared for the recipient at all: owners, unconditional and conditional datasets
    (so an approval takes effect without waiting for the next run); never 不予共享 data for a non-owner."""
    cfg = load_sharing_config().datasets[dataset]
    return recipient.id in cfg.all_owners or cfg.share_type != "none"
