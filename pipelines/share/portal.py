"""``sewershare serve``: the sharing portal (FastAPI + uvicorn) over the published data only — the catalogue, the
recipients' extracts and the portal's own state store. It never opens the warehouse.

Pages for people (Chinese, server-side Jinja2): the catalogue, a dataset page (dictionary, quality status,
freshness, versions, download), "my requests" and the owning bureau's approvals, the operator's monthly usage.
Machines use the Delta Sharing protocol (pipelines/share/delta.py) with the same bearer tokens.

Every download and every refusal is written to the audit log. A refusal is a 403 with a Chinese reason that names
nothing of another recipient; files are looked up in the caller's own extract folder only, so no URL reaches
another recipient's files.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from markupsafe import Markup

from pipelines import duck
from pipelines.home import DataHome
from pipelines.publish.safe_text import safe_text
from pipelines.share import audit, requests as share_requests, tokens
from pipelines.share.catalogue import CATALOGUE_JSON, CATALOGUE_XLSX, read_catalogue, share_dir
from pipelines.share.config import load_recipients
from pipelines.share.entitlements import access
from pipelines.share.extracts import version_dir, versions

COOKIE = "sewershare_token"
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
# Every value a page shows is neutralised (pipelines/publish/safe_text.py): a page's table pasted or opened
# in a spreadsheet must not run a bureau's "=HYPERLINK(…)". ``finalize`` runs on every {{ … }} output.
TEMPLATES.env.finalize = lambda value: value if isinstance(value, Markup) else safe_text(value)
STATUS = {"pending": "审核中", "approved": "已批准", "refused": "不予批准"}


def bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.cookies.get(COOKIE)


def quality_status(home: DataHome, dataset: str) -> str:
    """From ``meta.quality_status`` of the published copy (issue 11 records Dagster's check results there);
    未知 when publication recorded none."""
    if not home.published.exists():
        return "未知"
    con = duck.connect(home.published, read_only=True, extensions=())
    try:
        try:
            rows = con.execute("SELECT passed, severity, check_name FROM meta.quality_status WHERE asset IN (?, ?)",
                               [f"marts/{dataset}", dataset]).fetchall()
        except Exception:  # no such table yet
            return "未知"
    finally:
        con.close()
    if not rows:
        return "未知"
    failed = [r for r in rows if not r[0]]
    if not failed:
        return f"通过（{len(rows)} 项检查全部通过）"
    return f"{len(rows)} 项检查中 {len(failed)} 项未通过：" + "、".join(r[2] for r in failed[:5])


def create_app(home: DataHome) -> FastAPI:
    app = FastAPI(title="台州市污水管网数据共享门户", docs_url=None, redoc_url=None, openapi_url=None)
    people = load_recipients()

    def render(request: Request, template: str, status_code: int = 200, **ctx: Any) -> HTMLResponse:
        who = ctx.pop("who", None)
        return TEMPLATES.TemplateResponse(request, template, {
            "who": who, "who_name": people[who.recipient].name_zh if who else "", **ctx}, status_code=status_code)

    def identify(request: Request):
        who, _ = tokens.authenticate(home, bearer(request))
        return who

    def refuse(request: Request, who, status: int, reason: str, **log: Any) -> HTMLResponse:
        if status in (401, 403) or log:  # every refused access is logged, anonymous ones too
            audit.record(home, log.pop("action", "download"), actor=who.recipient if who else "anonymous",
                         recipient=who.recipient if who else None, outcome="refused",
                         detail={"reason": reason, "path": request.url.path}, **log)
        heading = {401: "需要登录", 403: "无权访问", 404: "未找到"}.get(status, "请求未被接受")
        return render(request, "error.html", status, who=who, title=heading, heading=heading, reason=reason)

    def entries() -> dict[str, dict]:
        return {e["dataset"]: e for e in read_catalogue(home)["entries"]}

    @app.get("/", response_class=HTMLResponse)
    def catalogue_page(request: Request):
        who = identify(request)
        catalogue = read_catalogue(home)
        acc = {e["dataset"]: access(home, who.recipient, e["dataset"]) for e in catalogue["entries"]} if who else {}
        return render(request, "catalogue.html", who=who, title="共享目录", catalogue=catalogue, access=acc)

    @app.get("/catalogue.json")
    def catalogue_json():
        return FileResponse(share_dir(home) / CATALOGUE_JSON, media_type="application/json")

    @app.get("/catalogue.xlsx")
    def catalogue_xlsx():
        return FileResponse(share_dir(home) / CATALOGUE_XLSX, filename="台州市污水管网数据共享目录.xlsx",
                            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request):
        return render(request, "login.html", title="登录", message="")

    @app.post("/login")
    def login(request: Request, token: str = Form(...)):
        who, reason = tokens.authenticate(home, token.strip())
        if who is None:
            return render(request, "login.html", 401, title="登录", message=reason)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, token.strip(), httponly=True, samesite="strict")
        return response

    @app.get("/logout")
    def logout():
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    @app.get("/datasets/{dataset}", response_class=HTMLResponse)
    def dataset_page(request: Request, dataset: str):
        who = identify(request)
        e = entries().get(dataset)
        if e is None:
            return refuse(request, None, 404, "该数据集未列入共享目录")
        acc = access(home, who.recipient, dataset) if who else None
        if acc is None:
            from pipelines.share.entitlements import Access
            acc = Access(False, "", "请先登录以查看本部门的下载权限")
        vs = versions(home, who.recipient, dataset) if who and acc.allowed else []
        person = people[who.recipient] if who else None
        scope = ""
        if person and person.kind == "district_government" and e.get("district_scoped"):
            scope = f"仅含本辖区（{person.district_code}）的数据"
        last_loads = [s.get("last_loaded_at") for v in vs[:1] for s in (v.get("source_versions") or {}).values() if s]
        freshness = f"最近发布 {e['发布日期'] or '—'}；更新周期 {e['更新周期']}"
        if last_loads:
            freshness += f"；来源数据最近接收 {max(last_loads)[:10]}"
        return render(request, "dataset.html", who=who, title=e["资源名称"], e=e, access=acc, versions=vs,
                      scope=scope, freshness=freshness, quality=quality_status(home, dataset))

    @app.get("/datasets/{dataset}/v{version}/{filename}")
    def download(request: Request, dataset: str, version: int, filename: str):
        who = identify(request)
        if who is None:
            return refuse(request, None, 401, "请先登录（需要有效的访问令牌）")
        acc = access(home, who.recipient, dataset)
        if not acc.allowed:
            return refuse(request, who, 403, acc.reason, dataset=dataset, version=f"v{version}")
        manifest = next((v for v in versions(home, who.recipient, dataset) if v["version"] == version), None)
        names = {f["name"]: f for f in (manifest or {}).get("files", [])}
        if manifest is None or (filename not in names and filename != "manifest.json"):
            return refuse(request, who, 404, "本部门没有该版本或该文件", dataset=dataset, version=f"v{version}")
        path = version_dir(home, who.recipient, dataset, version) / filename
        meta = names.get(filename, {})
        audit.record(home, "download", actor=who.recipient, recipient=who.recipient, dataset=dataset,
                     version=f"v{version}", rows=manifest["row_count"] if filename != "manifest.json" else None,
                     sha256=meta.get("sha256"), detail={"file": filename, "channel": "portal",
                                                        "basis": acc.basis, "row_filter": manifest["row_filter"]})
        return FileResponse(path, filename=filename)

    @app.post("/datasets/{dataset}/request")
    def submit_request(request: Request, dataset: str, purpose: str = Form(""), scenario: str = Form("")):
        who = identify(request)
        if who is None:
            return refuse(request, None, 401, "请先登录")
        try:
            share_requests.submit(home, who.recipient, dataset, purpose, scenario)
        except share_requests.RequestError as err:
            return refuse(request, who, 400, str(err), action="request_submitted", dataset=dataset)
        return RedirectResponse("/requests", status_code=303)

    @app.get("/requests", response_class=HTMLResponse)
    def requests_page(request: Request, message: str = ""):
        who = identify(request)
        if who is None:
            return refuse(request, None, 401, "请先登录")
        today = dt.date.today().isoformat()
        owned = share_requests.list_requests(home, owner=who.recipient)
        for r in owned:
            r["overdue"] = r["status"] == "pending" and r["due_on"] < today
        names = {k: v["资源名称"] for k, v in entries().items()}
        from pipelines.share.config import load_sharing_config
        owns = any(who.recipient in d.all_owners for d in load_sharing_config().datasets.values())
        usage = audit.monthly_usage(home) if people[who.recipient].operator else None
        return render(request, "requests.html", who=who, title="我的申请", mine=share_requests.list_requests(
            home, recipient=who.recipient), to_decide=owned if owns else None, names=names, status=STATUS,
            people={k: v.name_zh for k, v in people.items()}, usage=usage, message=message)

    @app.post("/requests/{request_id}/decide")
    def decide(request: Request, request_id: int, decision: str = Form(...), reason: str = Form("")):
        who = identify(request)
        if who is None:
            return refuse(request, None, 401, "请先登录")
        try:
            share_requests.decide(home, request_id, who.recipient, decision == "approve", reason)
        except share_requests.RequestError as err:
            return refuse(request, who, 403, str(err), action="request_decision")
        return RedirectResponse("/requests", status_code=303)

    from pipelines.share.delta import delta_router
    app.include_router(delta_router(home), prefix="/delta-sharing")

    @app.get("/healthz")
    def healthz():
        return JSONResponse({"status": "ok"})

    return app


def serve(home: DataHome, host: str = "127.0.0.1", port: int = 8765) -> None:
    import uvicorn

    uvicorn.run(create_app(home), host=host, port=port, log_level="info")

