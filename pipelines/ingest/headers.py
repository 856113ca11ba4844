"""Header detection: which row of a sheet is the header, and which canonical column each header names.

Districts spell headers differently. A header names a column when, in this order (the first rule that gives
one column wins; a rule that would give two columns gives none — never a guess):

1. its folded text (full-width → half-width, every space and line break removed, lower case, ``³`` → ``3``)
   equals a spelling of the column: a synonym, its Chinese name or its canonical name (``管径（mm）``,
   ``管 径``, ``GDBH``/``gdbh``, ``segment_id``);
2. without its bracketed parts (brackets of either width, ``【】``, ``〔〕``, ``[]``), it equals a spelling
   without its bracketed parts: units in brackets (``许可排水量(吨/日)`` → ``许可排水量``);
3. by affix rules, on both sides: a ``所在`` / ``所属`` prefix is dropped (``所在区县`` → ``区县``); a trailing
   ``时间`` reads as ``日期`` (``发证时间`` → ``发证日期``); an
   identifier suffix (``编号``, ``代码``, ``编码``, ``号``) or a name suffix (``名称``) may be added or dropped but
   never swapped for the other (``进口监测点MN`` → ``进口监测点MN编号``, ``区县名称`` → ``区县``, but ``厂站名称``
   is not ``厂站编号``); English headers are compared by their words (``Segment ID``, ``District``,
   ``Permit No.``, ``Depth (m)``), the canonical names without their unit words (``depth_m`` → ``depth``).

A header matched other than letter for letter is a *header variant* (reported per file, so a data engineer
can add it as a synonym); a header naming no column is *unmatched*; a contract column no header names is
*missing* (reported, or the file is rejected when the column is required to identify or place a record).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from pipelines.contracts import Column, Contract
from pipelines.ingest.normalise import FULLWIDTH, HALFWIDTH

_FOLD = str.maketrans(FULLWIDTH + "【】〔〕[]", HALFWIDTH + "()()()")
HEADER_SEARCH_ROWS = 30


_SPACES = re.compile(r"\s+")
_BRACKETED = re.compile(r"\([^()]*\)")
_PREFIX = re.compile(r"^(所在|所属)")
# Suffix classes: an identifier suffix and a name suffix. A header may add or drop one, not swap them.
_ID_SUFFIX = re.compile(r"(编号|文号|代码|编码|代号|号)$")
_NAME_SUFFIX = re.compile(r"(名称)$")
# In these exports a trailing 时间 names the same day as 日期 (发证时间, 采样时间, 整改完成时间).
_DAY_WORD = re.compile(r"时间$")
_ID_WORDS = {"id", "no", "code", "number", "num", "nr"}
_NAME_WORDS = {"name"}
# Unit words at the end of canonical names (`depth_m`, `permitted_volume_m3d`, `bod5_mg_l`).
_UNIT_WORDS = {"m", "mm", "km", "m3d", "m3h", "yuan", "mg", "l", "t", "a"}


@lru_cache(maxsize=65536)
def fold_header(text: str | None) -> str:
    """Compatibility forms folded (NFKC: full width, ``³``, subscripts as in ``BOD₅``), brackets of every
    style as ``()``, spaces and line breaks removed, lower case."""
    if text is None:
        return ""
    folded = unicodedata.normalize("NFKC", str(text)).translate(_FOLD)
    return _SPACES.sub("", folded).lower()


def _stem(folded: str) -> str:
    return _BRACKETED.sub("", folded)


@lru_cache(maxsize=65536)
def _affix_keys(text: str, canonical: bool = False) -> tuple[str, str | None]:
    """(full key, key without its identifier/name suffix or None) of a spelling or a header (rule 3)."""
    if text.isascii():
        words = [w for w in re.split(r"[^0-9a-z]+", _stem(fold_header_words(text))) if w]
        if canonical:
            while len(words) > 1 and words[-1] in _UNIT_WORDS:
                words.pop()
        if not words:
            return "", None
        last = words[-1]
        kind = "#id" if last in _ID_WORDS else "#name" if last in _NAME_WORDS else ""
        if kind:
            body = "".join(words[:-1])
            return body + kind, (body or None)
        return "".join(words), None
    key = _DAY_WORD.sub("日期", _PREFIX.sub("", _stem(fold_header(text))))
    for pattern, kind in ((_ID_SUFFIX, "#id"), (_NAME_SUFFIX, "#name")):
        match = pattern.search(key)
        if match and match.start() > 0:
            body = key[:match.start()]
            return body + kind, body
    return key, None


def fold_header_words(text: str) -> str:
    """Like ``fold_header`` but keeping word breaks (English headers are compared word by word)."""
    return unicodedata.normalize("NFKC", str(text)).translate(_FOLD).lower()


@dataclass(frozen=True)
class HeaderMap:
    """Canonical column name → position of the file column that carries it (and its header text).

    ``variants``: column → header text for headers matched by a rule rather than letter for letter;
    ``unmatched``: (position, header text) of the filled headers that name no column (or repeat one)."""
    positions: dict[str, int]
    headers: dict[str, str]
    variants: dict[str, str] = field(default_factory=dict)
    unmatched: list[tuple[int, str]] = field(default_factory=list)

    def __contains__(self, name: str) -> bool:
        return name in self.positions


def spellings(column: Column) -> list[str]:
    return [column.name, column.zh, *column.synonyms]


@dataclass(frozen=True)
class _Lookup:
    exact: dict[str, str]
    stems: dict[str, str]
    full: dict[str, str | None]
    stripped: dict[str, str | None]
    literal: dict[str, set[str]]


_LOOKUPS: dict[tuple[str, int], _Lookup] = {}


def _lookup(contract: Contract) -> _Lookup:
    key = (contract.feed, id(contract))
    if key not in _LOOKUPS:
        _LOOKUPS[key] = _build_lookup(contract)
    return _LOOKUPS[key]


def _claim(table: dict[str, str | None], key: str | None, name: str) -> None:
    """Record key → column; a key two columns claim names neither (None)."""
    if not key:
        return
    if key in table and table[key] != name:
        table[key] = None
    else:
        table.setdefault(key, name)


def header_columns(contract: Contract) -> list[Column]:
    """The columns a file's headers can name (not the geometry, not derived columns)."""
    return [c for c in contract.columns if c.type != "geometry" and not c.derived]


def _build_lookup(contract: Contract) -> _Lookup:
    exact: dict[str, str] = {}
    stems: dict[str, str] = {}
    full: dict[str, str | None] = {}
    stripped: dict[str, str | None] = {}
    literal: dict[str, set[str]] = {}
    for column in header_columns(contract):
        literal[column.name] = {s.strip() for s in spellings(column)}
        for spelling in spellings(column):
            exact.setdefault(fold_header(spelling), column.name)
        for spelling in spellings(column):
            f, s = _affix_keys(spelling, canonical=spelling == column.name)
            _claim(full, f, column.name)
            _claim(stripped, s, column.name)
    for folded, name in list(exact.items()):
        stems.setdefault(_stem(folded), name)
    return _Lookup(exact, stems, full, stripped, literal)


def _by_affix(lookup: _Lookup, header: str) -> str | None:
    f, s = _affix_keys(header)
    for table, key in ((lookup.full, f), (lookup.full, s), (lookup.stripped, f)):
        if key and table.get(key):
            return table[key]
    return None


def match_header(contract: Contract, header: str | None, lookup: _Lookup | None = None) -> str | None:
    """The canonical column a header names, or None."""
    lookup = lookup or _lookup(contract)
    folded = fold_header(header)
    if not folded:
        return None
    return lookup.exact.get(folded) or lookup.stems.get(_stem(folded)) or _by_affix(lookup, str(header))


def map_headers(contract: Contract, headers: list[str | None]) -> HeaderMap:
    """Map a header row; the first header naming a column wins (a later repeat stays unmatched)."""
    positions: dict[str, int] = {}
    texts: dict[str, str] = {}
    variants: dict[str, str] = {}
    unmatched: list[tuple[int, str]] = []
    lookup = _lookup(contract)
    for i, header in enumerate(headers):
        name = match_header(contract, header, lookup)
        if name and name not in positions:
            positions[name] = i
            texts[name] = str(header)
            if str(header).strip() not in lookup.literal[name]:
                variants[name] = str(header)
        elif header is not None and str(header).strip():
            unmatched.append((i, str(header)))
    return HeaderMap(positions, texts, variants, unmatched)


def find_header_row(contract: Contract, rows: list[list[str | None]]) -> int | None:
    """Index of the row (among the first rows of a sheet) naming the most contract columns; None when no
    row names at least two (or, for a one-column contract, one)."""
    best, best_count = None, 0
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        count = len(map_headers(contract, list(row)).positions)
        if count > best_count:
            best, best_count = i, count
    needed = min(2, len(header_columns(contract)))
    return best if best_count >= needed else None


def missing_columns(contract: Contract, mapping: HeaderMap) -> tuple[list[Column], list[Column]]:
    """(columns whose absence rejects the file, other columns no header names).

    A file cannot be loaded without a column that identifies its records (identity) or a required structural
    column, nor without every column of an ``any_of`` group (misconnections: 管段编号 or 检查井编号). Any
    other missing column loads as NULL, with a finding."""
    absent = [c for c in header_columns(contract) if c.name not in mapping.positions]
    fatal = [c for c in absent if c.role == "identity" or (c.role == "structural" and c.required)]
    for rule in contract.row_rules:
        names = list(rule.get("fields", ()))
        if rule.get("rule") == "required" and rule.get("any_of") and all(n not in mapping.positions for n in names):
            fatal += [c for c in absent if c.name in names and c not in fatal]
    return fatal, [c for c in absent if c not in fatal]


def missing_message(fatal: list[Column], headers: list[str | None]) -> tuple[str, str]:
    """The bilingual rejection message: the columns missing and the headers that were found."""
    found = [str(h).strip() for h in headers if h is not None and str(h).strip()]
    zh_cols = "、".join(f"「{c.header}」({c.name})" for c in fatal)
    en_cols = ", ".join(f"{c.name} ({c.header})" for c in fatal)
    shown = "、".join(found[:40]) or "（无）"
    return (f"缺少必需的列 {zh_cols}；文件中的表头为：{shown}。请在契约 synonyms 中加入该列的写法，或请报送单位补齐该列",
            f"required column(s) missing: {en_cols}; headers found: {', '.join(found[:40]) or '(none)'}. "
            f"Add the spelling to the contract's synonyms, or ask the bureau to include the column")
