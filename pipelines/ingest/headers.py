"""Header detection: which row of a sheet is the header, and which canonical column each header names.

Districts spell headers differently (`管径`, `管径(mm)`, `管径（mm）`, `GJ`). A header matches a column when
its folded text equals one of the column's synonyms, its Chinese name or its canonical name; failing that,
when the header without a trailing bracketed unit (`许可排水量(吨/日)` → `许可排水量`) matches.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from pipelines.contracts import Column, Contract
from pipelines.ingest.normalise import FULLWIDTH, HALFWIDTH

_FOLD = str.maketrans(FULLWIDTH, HALFWIDTH)
HEADER_SEARCH_ROWS = 30


_SPACES = re.compile(r"\s+")
_UNIT_SUFFIX = re.compile(r"\([^()]*\)$")


@lru_cache(maxsize=65536)
def fold_header(text: str | None) -> str:
    if text is None:
        return ""
    folded = str(text).translate(_FOLD).replace("³", "3")
    return _SPACES.sub("", folded).lower()


def _stem(folded: str) -> str:
    return _UNIT_SUFFIX.sub("", folded)


@dataclass(frozen=True)
class HeaderMap:
    """Canonical column name → position of the file column that carries it (and its header text)."""
    positions: dict[str, int]
    headers: dict[str, str]

    def __contains__(self, name: str) -> bool:
        return name in self.positions


def spellings(column: Column) -> list[str]:
    return [column.name, column.zh, *column.synonyms]


_LOOKUPS: dict[tuple[str, int], tuple[dict[str, str], dict[str, str]]] = {}


def _lookup(contract: Contract) -> tuple[dict[str, str], dict[str, str]]:
    key = (contract.feed, id(contract))
    if key not in _LOOKUPS:
        _LOOKUPS[key] = _build_lookup(contract)
    return _LOOKUPS[key]


def _build_lookup(contract: Contract) -> tuple[dict[str, str], dict[str, str]]:
    exact: dict[str, str] = {}
    stems: dict[str, str] = {}
    for column in contract.columns:
        if column.type == "geometry" or column.derived:
            continue
        for spelling in spellings(column):
            exact.setdefault(fold_header(spelling), column.name)
    for folded, name in list(exact.items()):
        stems.setdefault(_stem(folded), name)
    return exact, stems


def match_header(contract: Contract, header: str | None, lookup=None) -> str | None:
    """The canonical column a header names, or None."""
    exact, stems = lookup or _lookup(contract)
    folded = fold_header(header)
    if not folded:
        return None
    return exact.get(folded) or stems.get(_stem(folded))


def map_headers(contract: Contract, headers: list[str | None]) -> HeaderMap:
    """Map a header row; the first header naming a column wins (a later repeat stays unmapped)."""
    positions: dict[str, int] = {}
    texts: dict[str, str] = {}
    lookup = _lookup(contract)
    for i, header in enumerate(headers):
        name = match_header(contract, header, lookup)
        if name and name not in positions:
            positions[name] = i
            texts[name] = str(header)
    return HeaderMap(positions, texts)


def find_header_row(contract: Contract, rows: list[list[str | None]]) -> int | None:
    """Index of the row (among the first rows of a sheet) naming the most contract columns; None when no
    row names at least two (or, for a one-column contract, one)."""
    best, best_count = None, 0
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        count = len(map_headers(contract, list(row)).positions)
        if count > best_count:
            best, best_count = i, count
    needed = min(2, len([c for c in contract.columns if c.type != "geometry" and not c.derived]))
    return best if best_count >= needed else None
