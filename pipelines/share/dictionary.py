"""The data dictionary of the shared datasets, read from the dbt manifest (the marts' YAML descriptions) and the
contracts: Chinese names, summaries, column types and the feeds each mart derives from.

Nothing here is restated by hand: a mart's 资源名称 and each column's 中文名称 are the leading Chinese phrase of its
dbt description ("管段编号（普查主键）。Pipe segment ID" → 管段编号); 更新周期 is the shortest cadence among the feeds
the mart is built from (a change in any of them changes the mart).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pipelines.contracts import load_contracts

CJK = re.compile(r"[\u4e00-\u9fff]")
_PAREN = re.compile(r"[（(][^（）()]*[）)]")
_STOP = re.compile(r"[：:，,。；;]")
# contract cadence → 更新周期 (GB/T 21063.3), from the most to the least frequent
CADENCES = {"daily": "每日", "weekly": "每周", "monthly": "每月", "quarterly": "每季度", "yearly": "每年",
            "on_demand": "按需"}


def zh_name(description: str) -> str:
    """The leading Chinese phrase of a description: parentheticals dropped, cut at the first clause mark.

    A label of two characters or fewer before a colon ("原因：结构性缺陷等级 III–IV") keeps the phrase after it, so
    four "原因" columns stay apart.
    """
    text = (description or "").strip()
    while _PAREN.search(text):
        text = _PAREN.sub("", text)
    parts = _STOP.split(text, maxsplit=1)
    head = parts[0].strip()
    if len(parts) > 1 and len(head) <= 2 and text[len(head)] in "：:":
        rest = _STOP.split(parts[1], maxsplit=1)[0].strip()
        if rest and CJK.match(rest):
            head = f"{head}：{rest}"
    return head if CJK.search(head) else ""


def zh_summary(description: str) -> str:
    """The Chinese part of a "Chinese. English." description (摘要)."""
    text = " ".join((description or "").split())
    match = re.search(r"[。）)]\s*(?=[A-Z])", text)
    return text[: match.start() + 1].strip() if match else text


@dataclass
class ColumnInfo:
    name: str
    zh: str
    type: str
    description: str


@dataclass
class MartInfo:
    name: str
    zh: str
    summary: str
    description: str
    columns: dict[str, ColumnInfo] = field(default_factory=dict)
    feeds: tuple[str, ...] = ()
    meta: dict[str, dict] = field(default_factory=dict)

    @property
    def cadence(self) -> str:
        order = list(CADENCES)
        cadences = [load_contracts()[f].cadence for f in self.feeds]
        best = min(cadences, key=order.index) if cadences else ""
        return CADENCES.get(best, "不定期")


def _feeds(manifest: dict, unique_id: str) -> tuple[str, ...]:
    parents = manifest.get("parent_map") or {}
    seen, stack, feeds = set(), [unique_id], set()
    while stack:
        node = stack.pop()
        for parent in parents.get(node) or manifest.get("nodes", {}).get(node, {}).get("depends_on", {}).get(
                "nodes", []):
            if parent in seen:
                continue
            seen.add(parent)
            if parent.startswith("source."):
                feeds.add(parent.rsplit(".", 1)[-1].removesuffix("_current"))
            else:
                stack.append(parent)
    return tuple(sorted(f for f in feeds if f in load_contracts()))


def _manifest_path() -> Path:
    from pipelines.transform.project import prepare_dbt_project

    return prepare_dbt_project()


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> dict[str, MartInfo]:
    manifest = json.loads(Path(path).read_text(encoding="utf-8"))
    marts: dict[str, MartInfo] = {}
    for uid, node in manifest.get("nodes", {}).items():
        if node.get("resource_type") != "model" or not (
                node.get("schema") == "marts" or str(node.get("path", "")).startswith("marts/")):
            continue
        desc = node.get("description") or ""
        cols = {}
        meta = {}
        for cname, col in (node.get("columns") or {}).items():
            cdesc = col.get("description") or ""
            cols[cname] = ColumnInfo(cname, zh_name(cdesc), col.get("data_type") or "", cdesc)
            meta[cname] = {**(col.get("meta") or {}), **((col.get("config") or {}).get("meta") or {})}
        marts[node["name"]] = MartInfo(node["name"], zh_name(desc), zh_summary(desc), desc, cols,
                                       _feeds(manifest, uid), meta)
    return marts


def mart_infos(manifest: Path | None = None) -> dict[str, MartInfo]:
    """Every mart of the dbt manifest with its dictionary (cached per manifest version)."""
    path = manifest or _manifest_path()
    return _load(str(path), path.stat().st_mtime)


def unique_headers(columns: list[ColumnInfo]) -> dict[str, str]:
    """Chinese column headers for a spreadsheet, unique within the dataset (a repeated name gets its code)."""
    counts: dict[str, int] = {}
    for c in columns:
        counts[c.zh or c.name] = counts.get(c.zh or c.name, 0) + 1
    return {c.name: (c.zh or c.name) if counts[c.zh or c.name] == 1 else f"{c.zh or c.name}（{c.name}）"
            for c in columns}
