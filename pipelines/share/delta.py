"""The open Delta Sharing protocol (delta-io/delta-sharing PROTOCOL.md) over the recipients' extracts, so that
standard clients (the ``delta-sharing`` Python connector, Spark, Power BI) read a bureau's tables.

One share, ``sewershare``; one schema per providing bureau (its dept_code); one table per dataset the caller is
entitled to *now*. A table's version is the version number of the caller's extract; the query endpoint returns the
caller's own Parquet file through a short-lived signed URL that this server serves (the connector fetches files
without the bearer token, as it would from a cloud store). Rows were filtered when the extract was written:
``predicateHints`` and ``jsonPredicateHints`` are ignored, as the protocol allows; a ``limitHint`` likewise.
Errors are JSON ``{"errorCode", "message"}`` with a Chinese message.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from pipelines.home import DataHome
from pipelines.share import audit, tokens
from pipelines.share.config import load_sharing_config
from pipelines.share.entitlements import access
from pipelines.share.extracts import current_manifest, version_dir, versions

SHARE = "sewershare"
NDJSON = "application/x-ndjson; charset=utf-8"
URL_LIFETIME_S = 3600
_NS = uuid.UUID("6c1f2d0e-5b7a-4f43-9a53-2f0a3c9d7e11")


def _secret(home: DataHome) -> bytes:
    path = home.root / "share" / "url_signing.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        tmp.write_bytes(secrets.token_bytes(32))
        tmp.chmod(0o600)
        tmp.replace(path) if not path.exists() else tmp.unlink()
    return path.read_bytes()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def sign(home: DataHome, payload: dict) -> str:
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    mac = _b64(hmac.new(_secret(home), body.encode(), hashlib.sha256).digest())
    return f"{body}.{mac}"


def unsign(home: DataHome, token: str) -> dict | None:
    try:
        body, mac = token.split(".", 1)
        good = _b64(hmac.new(_secret(home), body.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(good, mac):
            return None
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        return payload if payload.get("exp", 0) >= time.time() else None
    except (ValueError, json.JSONDecodeError):
        return None


def spark_type(duck_type: str):
    t = duck_type.upper()
    if t.endswith("[]"):
        return {"type": "array", "elementType": spark_type(duck_type[:-2]), "containsNull": True}
    if t.startswith("DECIMAL"):
        return t.lower().replace(" ", "")
    if t.startswith("GEOMETRY") or t == "BLOB":
        return "binary"
    if t.startswith("TIMESTAMP"):
        return "timestamp"
    return {"VARCHAR": "string", "BIGINT": "long", "INTEGER": "integer", "SMALLINT": "short", "TINYINT": "byte",
            "DOUBLE": "double", "FLOAT": "float", "BOOLEAN": "boolean", "DATE": "date",
            "HUGEINT": "decimal(38,0)", "UBIGINT": "decimal(20,0)", "UINTEGER": "long"}.get(t, "string")


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"errorCode": code, "message": message}, status_code=status)


def delta_router(home: DataHome) -> APIRouter:
    router = APIRouter()
    config = load_sharing_config()

    def caller(request: Request):
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        who, reason = tokens.authenticate(home, token)
        if who is None:
            audit.record(home, "delta_query", actor="anonymous", outcome="refused",
                         detail={"reason": reason, "path": request.url.path})
        return who, reason

    def entitled(recipient: str) -> list[str]:
        return [d for d in sorted(config.datasets) if access(home, recipient, d).allowed
                and current_manifest(home, recipient, d) is not None]

    def table(recipient: str, share: str, schema: str, name: str):
        """(manifest, None) or (None, error response); refusals are logged."""
        cfg = config.datasets.get(name)
        if share != SHARE or cfg is None or cfg.provider != schema:
            return None, _error(404, "RESOURCE_DOES_NOT_EXIST", "共享、模式或数据表不存在")
        acc = access(home, recipient, name)
        if not acc.allowed:
            audit.record(home, "delta_query", actor=recipient, recipient=recipient, dataset=name, outcome="refused",
                         detail={"reason": acc.reason})
            return None, _error(403, "PERMISSION_DENIED", acc.reason)
        manifest = current_manifest(home, recipient, name)
        if manifest is None:
            return None, _error(404, "RESOURCE_DOES_NOT_EXIST", "本部门的数据包尚未生成")
        return manifest, None

    def page(items: list[dict]) -> JSONResponse:
        return JSONResponse({"items": items})

    def tables_of(recipient: str, schema: str | None) -> list[dict]:
        return [{"name": d, "schema": config.datasets[d].provider, "share": SHARE,
                 "shareId": str(uuid.uuid5(_NS, SHARE)), "id": str(uuid.uuid5(_NS, f"{recipient}/{d}"))}
                for d in entitled(recipient) if schema is None or config.datasets[d].provider == schema]

    def metadata_lines(recipient: str, manifest: dict) -> list[str]:
        schema = {"type": "struct", "fields": [
            {"name": c["name"], "type": spark_type(c["type"]), "nullable": True,
             "metadata": {"comment": c.get("中文名称", "")}} for c in manifest["schema"]]}
        return [json.dumps({"protocol": {"minReaderVersion": 1}}),
                json.dumps({"metaData": {
                    "id": str(uuid.uuid5(_NS, f"{recipient}/{manifest['dataset']}")),
                    "name": manifest["dataset"], "description": manifest.get("资源名称", ""),
                    "format": {"provider": "parquet"}, "schemaString": json.dumps(schema, ensure_ascii=False),
                    "partitionColumns": [], "configuration": {}, "version": manifest["version"],
                    "size": manifest["bytes"], "numFiles": 1}}, ensure_ascii=False)]

    def ndjson(lines: list[str], version: int) -> Response:
        return Response("\n".join(lines) + "\n", media_type=NDJSON, headers={"delta-table-version": str(version)})

    @router.get("/shares")
    def list_shares(request: Request):
        who, reason = caller(request)
        if who is None:
            return _error(401, "UNAUTHENTICATED", reason)
        return page([{"name": SHARE, "id": str(uuid.uuid5(_NS, SHARE))}])

    @router.get("/shares/{share}")
    def get_share(request: Request, share: str):
        who, reason = caller(request)
        if who is None:
            return _error(401, "UNAUTHENTICATED", reason)
        if share != SHARE:
            return _error(404, "RESOURCE_DOES_NOT_EXIST", "共享不存在")
        return JSONResponse({"share": {"name": SHARE, "id": str(uuid.uuid5(_NS, SHARE))}})

    @router.get("/shares/{share}/schemas")
    def list_schemas(request: Request, share: str):
        who, reason = caller(request)
        if who is None:
            return _error(401, "UNAUTHENTICATED", reason)
        if share != SHARE:
            return _error(404, "RESOURCE_DOES_NOT_EXIST", "共享不存在")
        schemas = sorted({t["schema"] for t in tables_of(who.recipient, None)})
        return page([{"name": s, "share": SHARE} for s in schemas])

    @router.get("/shares/{share}/schemas/{schema}/tables")
    def list_tables(request: Request, share: str, schema: str):
        who, reason = caller(request)
        if who is None:
            return _error(401, "UNAUTHENTICATED", reason)
        return page(tables_of(who.recipient, schema) if share == SHARE else [])

    @router.get("/shares/{share}/all-tables")
    def all_tables(request: Request, share: str):
        who, reason = caller(request)
        if who is None:
            return _error(401, "UNAUTHENTICATED", reason)
        return page(tables_of(who.recipient, None) if share == SHARE else [])

    @router.api_route("/shares/{share}/schemas/{schema}/tables/{name}/version", methods=["GET", "HEAD"])
    def table_version(request: Request, share: str, schema: str, name: str):
        who, reason = caller(request)
        if who is None:
            return _error(401, "UNAUTHENTICATED", reason)
        manifest, err = table(who.recipient, share, schema, name)
        return err or Response(status_code=200, headers={"delta-table-version": str(manifest["version"])})

    @router.get("/shares/{share}/schemas/{schema}/tables/{name}/metadata")
    def table_metadata(request: Request, share: str, schema: str, name: str):
        who, reason = caller(request)
        if who is None:
            return _error(401, "UNAUTHENTICATED", reason)
        manifest, err = table(who.recipient, share, schema, name)
        return err or ndjson(metadata_lines(who.recipient, manifest), manifest["version"])

    @router.post("/shares/{share}/schemas/{schema}/tables/{name}/query")
    async def table_query(request: Request, share: str, schema: str, name: str):
        who, reason = caller(request)
        if who is None:
            return _error(401, "UNAUTHENTICATED", reason)
        manifest, err = table(who.recipient, share, schema, name)
        if err:
            return err
        try:
            body = await request.json()
        except ValueError:
            body = {}
        wanted = (body or {}).get("version")
        if wanted is not None and int(wanted) != manifest["version"]:
            manifest = next((v for v in versions(home, who.recipient, name) if v["version"] == int(wanted)), None)
            if manifest is None:
                return _error(404, "RESOURCE_DOES_NOT_EXIST", "该版本已不再保留")
        exp = int(time.time()) + URL_LIFETIME_S
        signed = sign(home, {"r": who.recipient, "d": name, "v": manifest["version"], "f": manifest["file"],
                             "exp": exp})
        url = str(request.base_url).rstrip("/") + f"/delta-sharing/files/{signed}/{manifest['file']}"
        stats = json.dumps({"numRecords": manifest["row_count"]})
        line = json.dumps({"file": {"url": url, "id": manifest["sha256"], "partitionValues": {},
                                    "size": manifest["bytes"], "stats": stats, "version": manifest["version"],
                                    "expirationTimestamp": exp * 1000}})
        audit.record(home, "delta_query", actor=who.recipient, recipient=who.recipient, dataset=name,
                     version=f"v{manifest['version']}", rows=manifest["row_count"], sha256=manifest["sha256"],
                     detail={"channel": "delta_sharing", "row_filter": manifest["row_filter"],
                             "ignored_hints": sorted(k for k in (body or {}) if k.endswith("Hints") or k == "limitHint")})
        return ndjson([*metadata_lines(who.recipient, manifest), line], manifest["version"])

    @router.api_route("/files/{signed}/{filename}", methods=["GET", "HEAD"])
    def file(signed: str, filename: str):
        payload = unsign(home, signed)
        if payload is None or payload.get("f") != filename:
            return _error(403, "PERMISSION_DENIED", "下载链接无效或已过期")
        path: Path = version_dir(home, payload["r"], payload["d"], payload["v"]) / filename
        if not path.exists():
            return _error(404, "RESOURCE_DOES_NOT_EXIST", "该版本已不再保留")
        return FileResponse(path, media_type="application/octet-stream")

    return router
