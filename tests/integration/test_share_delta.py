"""The Delta Sharing server read by the real ``delta-sharing`` Python connector (1.4.2, in its own venv): a district
government's token reads only its district's rows, whatever predicate hints it sends; a conditional table is
refused (403, Chinese reason, logged) until a request is approved."""
from __future__ import annotations

import json
import subprocess

from pipelines import duck
from pipelines.share import audit, requests, tokens
from share_support import copy_home, delta_python, running_portal, shared_home  # noqa: F401  (fixture)
from test_quality_support import fixture_warehouse  # noqa: F401  (fixture)

CLIENT = r"""
import json, sys, delta_sharing
profile, tables = sys.argv[1], sys.argv[2:]
client = delta_sharing.SharingClient(profile)
out = {"tables": sorted(f"{t.schema}.{t.name}" for t in client.list_all_tables())}
for t in tables:
    try:
        # ask for another district's rows: the hint must be ignored, the filter was applied when the extract was written
        hint = json.dumps({"op": "equal", "children": [{"op": "column", "name": "district_code", "valueType": "string"},
                                                        {"op": "literal", "value": "331003", "valueType": "string"}]})
        df = delta_sharing.load_as_pandas(f"{profile}#sewershare.{t}", jsonPredicateHints=hint)
        out[t] = {"rows": len(df), "districts": sorted(set(df["district_code"].dropna()))}
    except Exception as e:
        out[t] = {"error": str(e)}
print(json.dumps(out, ensure_ascii=False))
"""


def _client(profile, *tables):
    proc = subprocess.run([str(delta_python()), "-c", CLIENT, str(profile), *tables], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _count(home, mart, district):
    con = duck.connect(home.warehouse, read_only=True, extensions=())
    try:
        return con.execute(f"SELECT count(*) FROM marts.{mart} WHERE district_code = ?", [district]).fetchone()[0]
    finally:
        con.close()


def test_a_district_token_reads_only_its_district_through_the_connector(shared_home, tmp_path):
    home = copy_home(shared_home, tmp_path / "home")
    issued = tokens.issue(home, "gov_331002")
    with running_portal(home) as url:
        profile = tmp_path / "profile.share"
        profile.write_text(json.dumps({"shareCredentialsVersion": 1, "endpoint": f"{url}/delta-sharing",
                                       "bearerToken": issued.token}))
        before = _client(profile, "urban_management.problem_pipes", "urban_management.pipe_segments")
        assert "urban_management.problem_pipes" in before["tables"]
        assert "urban_management.pipe_segments" not in before["tables"]   # conditional: not listed until approved
        assert before["urban_management.problem_pipes"] == {
            "rows": _count(home, "problem_pipes", "331002"), "districts": ["331002"]}
        assert "403" in before["urban_management.pipe_segments"]["error"]
        assert "有条件共享" in before["urban_management.pipe_segments"]["error"]
        rid = requests.submit(home, "gov_331002", "pipe_segments", "辖区管网排查", "排查计划编制")
        requests.decide(home, rid, "urban_management", True)
        after = _client(profile, "urban_management.pipe_segments")
        assert after["urban_management.pipe_segments"] == {
            "rows": _count(home, "pipe_segments", "331002"), "districts": ["331002"]}
        # a revoked token reads nothing
        tokens.revoke(home, issued.token_id)
        proc = subprocess.run([str(delta_python()), "-c", CLIENT, str(profile)], capture_output=True, text=True)
        assert proc.returncode != 0 and "401" in proc.stderr
    entries = audit.read_entries(home)
    assert any(e["action"] == "delta_query" and e["outcome"] == "refused" and e["dataset"] == "pipe_segments"
               for e in entries)
    delivered = [e for e in entries if e["action"] == "delta_query" and e["outcome"] == "ok"
                 and e["dataset"] == "pipe_segments"]
    assert delivered and delivered[-1]["rows"] == _count(home, "pipe_segments", "331002") and delivered[-1]["sha256"]
    assert audit.verify(home).ok
