"""The data dictionary of the marts (Chinese first, English after), for the published copy's comments and the
extract manifests.

Sources, first found wins per column: comments already in the warehouse catalogue (dbt ``persist_docs``), the dbt
manifest (``dbt_project/target/manifest.json``), the marts' YAML (``dbt_project/models/marts/*.yml``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipelines.home import DBT_PROJECT_DIR


@dataclass
class MartDoc:
    description: str = ""
    columns: dict[str, str] = field(default_factory=dict)
    meta: dict[str, dict[str, Any]] = field(default_factory=dict)

    def fill(self, other: "MartDoc") -> None:
        self.description = self.description or other.description
        for col, desc in other.columns.items():
            if desc and not self.columns.get(col):
                self.columns[col] = desc
        for col, meta in other.meta.items():
            if meta and not self.meta.get(col):
                self.meta[col] = meta


def _column_meta(col: dict[str, Any]) -> dict[str, Any]:
    return {**(col.get("meta") or {}), **((col.get("config") or {}).get("meta") or {})}


def from_manifest(path: Path) -> dict[str, MartDoc]:
    if not path.exists():
        return {}
    manifest = json.loads(path.read_text(encoding="utf-8"))
    docs = {}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "model":
            continue
        in_marts = node.get("schema") == "marts" or str(node.get("path", "")).startswith("marts/")
        if not in_marts:
            continue
        cols = node.get("columns") or {}
        docs[node["name"]] = MartDoc(
            description=node.get("description") or "",
            columns={c: (v.get("description") or "") for c, v in cols.items()},
            meta={c: _column_meta(v) for c, v in cols.items()})
    return docs


def from_yaml(directory: Path) -> dict[str, MartDoc]:
    docs = {}
    for path in sorted(directory.glob("*.yml")) + sorted(directory.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for model in raw.get("models", []) or []:
            cols = model.get("columns") or []
            docs[model["name"]] = MartDoc(
                description=model.get("description") or "",
                columns={c["name"]: (c.get("description") or "") for c in cols},
                meta={c["name"]: _column_meta(c) for c in cols})
    return docs


def mart_docs(catalogue: dict[str, MartDoc] | None = None, dbt_dir: Path = DBT_PROJECT_DIR) -> dict[str, MartDoc]:
    docs: dict[str, MartDoc] = {k: MartDoc(v.description, dict(v.columns), dict(v.meta))
                                for k, v in (catalogue or {}).items()}
    for source in (from_manifest(dbt_dir / "target" / "manifest.json"), from_yaml(dbt_dir / "models" / "marts")):
        for name, doc in source.items():
            docs.setdefault(name, MartDoc()).fill(doc)
    return docs
