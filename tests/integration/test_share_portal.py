"""The portal's pages in a real headless browser (Debian chromium through Playwright): a district government
downloads only its district's rows, a conditional dataset becomes downloadable only after the owning bureau
approves a request, refusals are 403s with a Chinese reason and are logged, no personal value reaches a
non-owner's page or download."""
from __future__ import annotations

import csv

from pipelines import duck
from pipelines.share import audit, tokens
from share_support import INDIVIDUAL, copy_home, running_portal, shared_home  # noqa: F401  (fixture)
from test_quality_support import fixture_warehouse  # noqa: F401  (fixture)
from tests.support.browser import browser_page


def _login(page, url, token):
    page.goto(f"{url}/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")


def _district_count(home, mart, district):
    con = duck.connect(home.warehouse, read_only=True, extensions=())
    try:
        return con.execute(f"SELECT count(*) FROM marts.{mart} WHERE district_code = ?", [district]).fetchone()[0]
    finally:
        con.close()


def _download_csv(page, link_selector, tmp_path):
    with page.expect_download() as info:
        page.click(link_selector)
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    with open(target, encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def test_district_download_request_approval_and_refusals_in_a_browser(shared_home, tmp_path):
    home = copy_home(shared_home, tmp_path / "home")
    district = tokens.issue(home, "gov_331002").token
    owner = tokens.issue(home, "urban_management").token
    with running_portal(home) as url, browser_page() as page:
        page.goto(url)
        assert page.locator("#catalogue tr").count() == 1 + 13   # header + every shared dataset
        _login(page, url, district)
        # an unconditional dataset: the CSV holds 椒江's rows only
        page.goto(f"{url}/datasets/problem_pipes")
        assert "仅含本辖区（331002）" in page.inner_text("#access")
        rows = _download_csv(page, "#versions a[href$='problem_pipes.csv']", tmp_path)
        assert len(rows) == _district_count(home, "problem_pipes", "331002") > 0
        assert {r["区县代码"] for r in rows} == {"331002"}
        # a conditional dataset: refused with a Chinese reason, request form offered
        page.goto(f"{url}/datasets/pipe_segments")
        assert "须说明用途和场景提出申请" in page.inner_text("#access")
        refused = page.goto(f"{url}/datasets/pipe_segments/v1/pipe_segments.csv")
        assert refused.status == 403 and "有条件共享" in page.inner_text("#reason")
        page.goto(f"{url}/datasets/pipe_segments")
        page.fill("textarea[name=purpose]", "辖区管网隐患排查")
        page.fill("textarea[name=scenario]", "排查计划编制")
        page.click("#request-form button")
        assert "审核中" in page.inner_text("#mine")
        # the owning bureau approves on its approvals page
        page.goto(f"{url}/logout")
        _login(page, url, owner)
        page.goto(f"{url}/requests")
        assert "椒江区人民政府" in page.inner_text("#approvals")
        page.click("#approvals button[value=approve]")
        assert "已批准" in page.inner_text("#approvals")
        page.screenshot(path=str(tmp_path / "approvals.png"))
        # now the district downloads pipe_segments: its own rows only
        page.goto(f"{url}/logout")
        _login(page, url, district)
        page.goto(f"{url}/datasets/pipe_segments")
        rows = _download_csv(page, "#versions a[href$='pipe_segments.csv']", tmp_path)
        assert len(rows) == _district_count(home, "pipe_segments", "331002") > 0
        assert {r["区县代码"] for r in rows} == {"331002"}
        # no personal value on any page a non-owner sees, nor in its discharger download (masked)
        for dataset in ("discharger_profile", "enforcement_monthly", "problem_pipes"):
            page.goto(f"{url}/datasets/{dataset}")
            assert INDIVIDUAL not in page.content()
        # another recipient's files cannot be named in a URL: only the caller's own folder is looked up
        missing = page.goto(f"{url}/datasets/problem_pipes/v99/problem_pipes.csv")
        assert missing.status == 404 and "本部门没有该版本" in page.inner_text("#reason")
    entries = audit.read_entries(home)
    refusals = [e for e in entries if e["outcome"] == "refused" and e["recipient"] == "gov_331002"]
    assert any(e["dataset"] == "pipe_segments" for e in refusals)
    downloads = [e for e in entries if e["action"] == "download" and e["outcome"] == "ok"]
    assert {e["dataset"] for e in downloads} == {"problem_pipes", "pipe_segments"}
    assert all(e["sha256"] and e["rows"] == _district_count(home, e["dataset"], "331002") for e in downloads)
    assert audit.verify(home).ok
