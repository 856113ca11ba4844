"""Generate the dbt sources ``dbt_project/models/staging/_raw__sources.yml`` from the contracts.

    python -m pipelines.transform.sources          # rewrite the file
    python -m pipelines.transform.sources --check  # exit 1 when the checked-in file is out of date

The contracts say what each ``raw.<feed>_current`` view holds; the sources YAML says it again for dbt, so it is
generated, never edited. It carries what dbt needs to document and watch a feed: the table and column
descriptions (Chinese names and units from the contract), the owner and cadence, freshness from the cadence
(``pipelines.contracts.overdue_after_days``), and each feed's history table ``raw.<feed>`` beside its current view. It carries no rule: a range, an enumeration or a pattern is the loader's (rows that break it are
quarantined), so adding a rule to a contract leaves this file as it is.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from pipelines.contracts import Column, Contract, load_contracts, overdue_after_days
from pipelines.home import DBT_PROJECT_DIR, SOURCES_DIR
from pipelines.ingest.schema import PIPE_SIZE_COLUMNS, fields, output_columns

SOURCES_YAML = DBT_PROJECT_DIR / "models" / "staging" / "_raw__sources.yml"
HEADER = """\
# 由 `python -m pipelines.transform.sources` 根据 sources/*.yml 生成，请勿手工编辑（修改契约后重新生成）。
# GENERATED from the feed contracts (sources/*.yml) by `python -m pipelines.transform.sources`; do not edit.
# Raw layer written by ingestion (docs/architecture.md). Every model reads the *_current view of a feed, which
# holds the current version of each primary key; Dagster maps each table onto the ingestion asset [raw, <feed>].
"""
_PIPE_SIZE_ZH = dict(zip(PIPE_SIZE_COLUMNS, ("圆管管径", "箱涵宽", "箱涵高")))
LINEAGE = {
    "_source_file": "来源文件名。Source file name (lineage)",
    "_source_row": "文件内数据行序号（从1起）。1-based data record in the file",
    "_valid_from": "该版本生效（载入）时间。When this version was loaded",
    "_unmapped": "契约未能识别的描述性取值原文（字段 → 原文；该字段为空或为 other）。Descriptive values as sent that the "
                 "contract could not read (field → text)",
}
HISTORY = {
    "_valid_to": "该版本被后报版本取代的时间（当前版本为空）。When a later version replaced this one (NULL: current)",
    "_is_current": "是否当前版本。Whether this is the current version",
}
# The loader's file registry (docs/architecture.md), a source of its own: not a feed, no contract.
AUDIT = {
    "name": "audit", "schema": "audit",
    "description": "摄取审计：每个报送文件一行（audit.file_registry，见 docs/architecture.md）。Ingestion audit: one row per "
                   "delivered file.",
    "tables": [{"name": "file_registry",
                "description": "文件登记：文件名、状态、行数、载入时间。File registry: name, status, rows, load time.",
                "columns": [
                    {"name": "file_id", "description": "文件编号。file ID"},
                    {"name": "feed", "description": "数据源（契约 feed）。feed"},
                    {"name": "file_name", "description": "文件名。file name"},
                    {"name": "status", "description": "loaded 已载入 / skipped_duplicate 重复跳过 / rejected 拒收。status"},
                    {"name": "loaded_at", "description": "登记（送达平台）时间。when the platform received it"},
                ]}],
}


def _words(text: str) -> str:
    return " ".join(str(text).split())


def _column_docs(column: Column, store_crs: str | None) -> list[dict[str, str]]:
    unit = f"（{column.unit}）" if column.unit else ""
    if column.type == "geometry" and store_crs:
        unit = f"（{store_crs}，米 metres）"
    note = f"。{_words(column.note)}" if column.note else ""
    if column.type == "pipe_size":
        return [{"name": name, "description": f"{column.zh}：{_PIPE_SIZE_ZH[name]}{unit}{note}"}
                for name, _ in output_columns(column)]
    return [{"name": name, "description": f"{column.zh}{unit}{note}"} for name, _ in output_columns(column)]


def source_tables(contract: Contract) -> list[dict[str, Any]]:
    """``<feed>_current`` (the current version of each key: what the models read, with freshness) and ``<feed>``
    (every version, for histories such as permit renewals)."""
    columns = [doc for column in fields(contract) for doc in _column_docs(column, contract.store_crs)]
    columns += [{"name": name, "description": text} for name, text in LINEAGE.items()]
    history = {
        "name": contract.feed,
        "description": f"{contract.title_zh}的全部历史版本（含被后报更正的版本，_is_current 标记当前版本）。"
                       f"Every version of {contract.feed} (history).",
        "meta": {"feed": contract.feed, "owner": contract.owner, "cadence": contract.cadence, "history": True},
        "columns": columns + [{"name": name, "description": text} for name, text in HISTORY.items()],
    }
    return [current_table(contract, columns), history]


def current_table(contract: Contract, columns: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "name": f"{contract.feed}_current",
        "description": (f"{contract.title_zh}（{contract.owner}，{contract.format}，主键 "
                        f"{', '.join(contract.primary_key)}）。{_words(contract.description)}"),
        "meta": {"feed": contract.feed, "owner": contract.owner, "cadence": contract.cadence,
                 "contract": f"sources/{contract.path.name}" if contract.path else None},
        "config": {"loaded_at_field": "_valid_from",
                   **({"freshness": {"warn_after": {"count": overdue_after_days(contract.cadence), "period": "day"}}}
                      if overdue_after_days(contract.cadence) is not None else {})},
        "columns": columns,
    }


def render(sources_dir: Path = SOURCES_DIR) -> str:
    doc = {"version": 2, "sources": [{
        "name": "raw", "schema": "raw",
        "description": ("摄取层：各部门报送文件经契约校验后的当前版本（每个主键一行）。Ingested bureau feeds, current "
                        "version of each key, with lineage columns (_source_file, _source_row, _valid_from)."),
        "tables": [t for c in load_contracts(sources_dir).values() for t in source_tables(c)],
    }, AUDIT]}
    return HEADER + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report whether the file is out of date")
    parser.add_argument("--sources", type=Path, default=SOURCES_DIR, help="the contracts' folder")
    parser.add_argument("--output", type=Path, default=SOURCES_YAML)
    args = parser.parse_args(argv)
    text = render(args.sources.resolve())
    current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
    if current == text:
        print(f"无变化 up to date: {args.output}")
        return 0
    if args.check:
        print(f"dbt 源定义已过期，请运行 python -m pipelines.transform.sources "
              f"(out of date: {args.output})", file=sys.stderr)
        return 1
    args.output.write_text(text, encoding="utf-8")
    print(f"已更新 written: {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
