"""Per-recipient bearer tokens: issued and revoked by a command, stored only as sha256 hashes, with an expiry.

A token reads ``ssk_<id>_<secret>``; the id names it in the audit log and in ``token revoke`` without revealing it.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from pipelines.home import DataHome
from pipelines.share import audit, store
from pipelines.share.config import load_recipients

PREFIX = "ssk_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Issued:
    token: str
    token_id: str
    recipient: str
    expires_at: str


def issue(home: DataHome, recipient: str, *, days: int = 90, actor: str = "cli", note: str = "") -> Issued:
    if recipient not in load_recipients():
        raise KeyError(f"未知的共享对象 unknown recipient: {recipient}")
    token_id = secrets.token_hex(4)
    token = f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    now = dt.datetime.now(dt.timezone.utc)
    expires = (now + dt.timedelta(days=days)).isoformat(timespec="seconds")
    with store.transaction(home) as con:
        con.execute("INSERT INTO tokens (token_id, recipient, token_hash, issued_at, expires_at, note) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [token_id, recipient, token_hash(token), now.isoformat(timespec="seconds"), expires, note])
    audit.record(home, "token_issued", actor=actor, recipient=recipient,
                 detail={"token_id": token_id, "expires_at": expires})
    return Issued(token, token_id, recipient, expires)


def revoke(home: DataHome, token_id: str, *, actor: str = "cli") -> str:
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    with store.transaction(home) as con:
        row = con.execute("SELECT recipient, revoked_at FROM tokens WHERE token_id = ?", [token_id]).fetchone()
        if row is None:
            raise KeyError(f"没有该令牌 unknown token id: {token_id}")
        if row["revoked_at"] is None:
            con.execute("UPDATE tokens SET revoked_at = ? WHERE token_id = ?", [now, token_id])
    audit.record(home, "token_revoked", actor=actor, recipient=row["recipient"], detail={"token_id": token_id})
    return row["recipient"]


@dataclass(frozen=True)
class Identity:
    recipient: str
    token_id: str
    expires_at: str


def authenticate(home: DataHome, token: str | None) -> tuple[Identity | None, str]:
    """The recipient a token stands for, or None and the Chinese reason it does not."""
    if not token or not token.startswith(PREFIX):
        return None, "未提供有效的访问令牌"
    with store.connect(home) as con:
        row = con.execute("SELECT token_id, recipient, expires_at, revoked_at FROM tokens WHERE token_hash = ?",
                          [token_hash(token)]).fetchone()
    if row is None:
        return None, "访问令牌无效"
    if row["revoked_at"]:
        return None, "访问令牌已被撤销"
    if row["expires_at"] < dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"):
        return None, "访问令牌已过期"
    return Identity(row["recipient"], row["token_id"], row["expires_at"]), ""


def list_tokens(home: DataHome) -> list[dict]:
    with store.connect(home) as con:
        return [dict(r) for r in con.execute(
            "SELECT token_id, recipient, issued_at, expires_at, revoked_at, note FROM tokens ORDER BY issued_at")]
