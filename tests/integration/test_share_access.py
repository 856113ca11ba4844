"""Recipients, entitlements, requests with working-day deadlines, tokens and the audit chain (a real SQLite store
and a real audit file in a temporary data home)."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from pipelines.home import DataHome
from pipelines.share import audit, entitlements, requests, tokens
from pipelines.share.config import load_recipients, load_sharing_config
from pipelines.share.store import store_path


@pytest.fixture
def home(tmp_path) -> DataHome:
    return DataHome(tmp_path / "home").ensure()


def test_recipients_are_the_departments_and_each_district_government():
    """By hand from departments.csv (12 rows, one of them the district-governments row) and districts.csv
    (331000 is the city; 331099 is run by the 台州湾新区管委会 row)."""
    r = load_recipients()
    govs = sorted(k for k, v in r.items() if v.kind == "district_government")
    assert govs == ["bay_area_committee", "gov_331002", "gov_331003", "gov_331004", "gov_331022", "gov_331023",
                    "gov_331024", "gov_331081", "gov_331082", "gov_331083"]
    assert r["bay_area_committee"].district_code == "331099" and r["gov_331002"].name_zh == "椒江区人民政府"
    assert len([v for v in r.values() if v.kind == "department"]) == 10 and "county_governments" not in r


def test_entitlement_of_every_recipient_for_every_dataset(home):
    config = load_sharing_config()
    for rid in load_recipients():
        for name, cfg in config.datasets.items():
            a = entitlements.access(home, rid, name)
            owner = rid in cfg.all_owners
            assert a.allowed == (owner or cfg.share_type == "unconditional"), (rid, name)
            if not a.allowed:
                assert a.can_request and "申请" in a.reason


def test_a_dataset_not_to_be_shared_never_leaves_its_owners(home, monkeypatch):
    config = load_sharing_config()
    closed = dataclasses.replace(config, datasets={**config.datasets, "network_anomalies": dataclasses.replace(
        config.datasets["network_anomalies"], share_type="none", basis="示例依据")})
    monkeypatch.setattr(entitlements, "load_sharing_config", lambda: closed)
    monkeypatch.setattr(requests, "load_sharing_config", lambda: closed)
    assert entitlements.access(home, "urban_management", "network_anomalies").allowed
    refused = entitlements.access(home, "construction", "network_anomalies")
    assert not refused.allowed and not refused.can_request and "不予共享" in refused.reason
    with pytest.raises(requests.RequestError, match="不予共享"):
        requests.submit(home, "construction", "network_anomalies", "用途", "场景")
    people = load_recipients()
    assert not entitlements.prepared_for(people["construction"], "network_anomalies")
    assert entitlements.prepared_for(people["urban_management"], "network_anomalies")


def test_a_conditional_dataset_is_granted_only_by_an_approval_with_an_expiry(home):
    """Received Friday 2025-09-26; 10 working days under the 2025 schedule (国庆、中秋 10月1日–8日放假，9月28日（日）
    与10月11日（六）上班): 9/28, 9/29, 9/30, 10/9, 10/10, 10/11, 10/13, 10/14, 10/15, 10/16 → due 2025-10-16 (a
    Monday–Friday count would give 10/10)."""
    friday = dt.date(2025, 9, 26)
    assert not entitlements.access(home, "natural_resources", "pipe_segments", friday).allowed
    with pytest.raises(requests.RequestError, match="用途"):
        requests.submit(home, "natural_resources", "pipe_segments", "", "", friday)
    rid = requests.submit(home, "natural_resources", "pipe_segments", "国土空间规划底图更新", "规划审查", friday)
    (req,) = requests.list_requests(home, recipient="natural_resources")
    assert req["due_on"] == "2025-10-16" and req["status"] == "pending"
    pending = entitlements.access(home, "natural_resources", "pipe_segments", friday)
    assert not pending.allowed and "审核" in pending.reason
    assert requests.list_requests(home, owner="urban_management")[0]["request_id"] == rid
    with pytest.raises(requests.RequestError, match="数据责任部门"):
        requests.decide(home, rid, "construction", True, today=friday)
    with pytest.raises(requests.RequestError, match="理由"):
        requests.decide(home, rid, "urban_management", False, today=friday)
    assert requests.overdue(home, dt.date(2025, 10, 16)) == []
    assert [f.request_id for f in requests.overdue(home, dt.date(2025, 10, 17))] == [rid]
    requests.decide(home, rid, "urban_management", True, valid_days=30, today=dt.date(2025, 10, 9))
    granted = entitlements.access(home, "natural_resources", "pipe_segments", dt.date(2025, 11, 8))
    assert granted.allowed and granted.expires_on == "2025-11-08" and granted.request_id == rid
    expired = entitlements.access(home, "natural_resources", "pipe_segments", dt.date(2025, 11, 9))
    assert not expired.allowed and "到期" in expired.reason and expired.can_request
    # a refusal states its reason to the requester
    rid2 = requests.submit(home, "finance", "discharger_profile", "专项资金核查", "资金监督", friday)
    requests.decide(home, rid2, "ecology_environment", False, "与资金监督无关", today=friday)
    assert "与资金监督无关" in entitlements.access(home, "finance", "discharger_profile", friday).reason


def test_tokens_are_stored_as_hashes_expire_and_can_be_revoked(home):
    issued = tokens.issue(home, "gov_331002", days=1)
    who, _ = tokens.authenticate(home, issued.token)
    assert who.recipient == "gov_331002"
    assert issued.token.encode() not in store_path(home).read_bytes()
    assert tokens.authenticate(home, issued.token + "x") == (None, "访问令牌无效")
    tokens.revoke(home, issued.token_id)
    assert tokens.authenticate(home, issued.token) == (None, "访问令牌已被撤销")
    old = tokens.issue(home, "finance", days=-1)
    assert tokens.authenticate(home, old.token) == (None, "访问令牌已过期")


def _activity(home):
    tokens.issue(home, "finance")
    rid = requests.submit(home, "finance", "discharger_profile", "专项资金核查", "资金监督")
    requests.decide(home, rid, "ecology_environment", True)
    audit.record(home, "download", actor="finance", recipient="finance", dataset="discharger_profile",
                 version="v1", rows=3, sha256="ab" * 32)
    audit.record(home, "download", actor="gov_331002", recipient="gov_331002", dataset="pipe_segments",
                 outcome="refused", detail={"reason": "有条件共享数据集"})


def test_audit_chain_verifies_and_breaks_when_one_line_is_edited(home):
    _activity(home)
    check = audit.verify(home)
    assert check.ok and check.entries == 5
    path = audit.audit_path(home)
    lines = path.read_text(encoding="utf-8").splitlines()
    edited = json.loads(lines[3])
    edited["rows"] = 3000
    path.write_text("\n".join(lines[:3] + [json.dumps(edited, ensure_ascii=False, sort_keys=True)] + lines[4:]) + "\n",
                    encoding="utf-8")
    broken = audit.verify(home)
    assert not broken.ok and "第 4 行" in broken.problems[0]


@pytest.mark.parametrize("cut", ["middle", "end"])
def test_audit_chain_breaks_when_a_line_is_deleted(home, cut):
    _activity(home)
    path = audit.audit_path(home)
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = lines[:2] + lines[3:] if cut == "middle" else lines[:-1]
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    assert not audit.verify(home).ok


def test_monthly_usage_per_bureau(home):
    _activity(home)
    month = dt.date.today().strftime("%Y-%m")
    usage = {u["recipient"]: u for u in audit.monthly_usage(home, month)}
    assert usage["finance"]["downloads"] == 1 and usage["finance"]["rows"] == 3
    assert usage["finance"]["requests"] == 1 and usage["finance"]["approved"] == 1
    assert usage["gov_331002"]["refusals"] == 1 and usage["gov_331002"]["downloads"] == 0
