"""One file's rows before writing, and the bookkeeping that keeps the truth exact.

A :class:`Sheet` holds the rendered cells of one file column by column. Spoiling a row sets one
cell (or swaps two, for ``date_order``) and records exactly one ``(field, rule)``; duplicates are
copies of clean rows inserted later in the file; blank rows are separators that do not count as
records. :meth:`Sheet.finish` fixes the final order and writes the row numbers into the truth.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from pipelines.sample.truth import FileTruth


class Sheet:
    def __init__(self, names: list[str], cells: dict[str, object]):
        self.names = list(names)
        self.cells = {}
        n = None
        for name in self.names:
            col = cells[name]
            arr = np.empty(len(col), dtype=object)
            arr[:] = list(col) if not isinstance(col, np.ndarray) else col
            self.cells[name] = arr
            n = len(arr) if n is None else n
            assert len(arr) == n, (name, len(arr), n)
        self.n = n or 0
        self.reasons: dict[int, tuple[str | None, str]] = {}
        self.anomalies: dict[int, list[tuple[str, str | None]]] = defaultdict(list)
        self.locked = np.zeros(self.n, dtype=bool)
        # rows that may be copied but never spoiled (their quarantine would cut other records off)
        self.unspoilable = np.zeros(self.n, dtype=bool)
        self.order: list[int] = list(range(self.n))
        self.blank_before: list[int] = []
        self.extra_blank_rows = 0
        # Whether a spoil of a field quarantines its record (identity/structural) or is kept with a finding
        # (descriptive): set from the contract by the spoil plan. Whole-record rules (field None) always do.
        self.strict: Callable[[str | None], bool] = lambda field: True
        # index → [(field, value written, code)]: labels written in a variant spelling (pipelines/sample/variants.py)
        self.label_variants: dict[int, list[tuple[str, str, object]]] = defaultdict(list)

    # -- bookkeeping ------------------------------------------------------------------------
    def free(self) -> np.ndarray:
        """Rows that may still be spoiled or copied: clean, not locked, no anomaly."""
        mask = ~self.locked.copy()
        for i in self.reasons:
            mask[i] = False
        for i in self.anomalies:
            mask[i] = False
        return mask

    def anomaly(self, i: int, kind: str, field: str | None) -> None:
        self.anomalies[int(i)].append((kind, field))

    def spoil(self, i: int, field: str | None, rule: str, value=None, set_value: bool = True) -> None:
        i = int(i)
        assert i not in self.reasons, "one reason per spoiled row"
        if set_value and field is not None:
            self.cells[field][i] = value
        self.reasons[i] = (field, rule)

    def duplicate(self, rng: np.random.Generator, count: int) -> None:
        """Insert exact copies of ``count`` clean rows somewhere after their originals."""
        free = np.flatnonzero(self.free())
        count = min(count, len(free))
        if count <= 0:
            return
        sources = rng.choice(free, size=count, replace=False)
        for s in sorted(int(x) for x in sources):
            pos = self.order.index(s)
            # Most exports repeat a row right away (pasted twice); some much later.
            gap = 1 if rng.random() < 0.6 else int(rng.integers(1, len(self.order) - pos + 1))
            self.order.insert(min(pos + gap, len(self.order)), s)
            self.locked[s] = True

    def blanks(self, rng: np.random.Generator, count: int) -> None:
        """Blank separator rows between data rows (never before the first record)."""
        total = len(self.order)
        if total < 2 or count <= 0:
            return
        self.blank_before = sorted(int(x) for x in rng.integers(1, total, size=count))

    def quarantined(self) -> list[int]:
        """Indices of the spoiled rows the loader must quarantine (a descriptive spoil keeps its row)."""
        return sorted(i for i, (field, _) in self.reasons.items() if self.strict(field))

    # -- output -----------------------------------------------------------------------------
    def rows(self) -> Iterator[list]:
        cols = [self.cells[name] for name in self.names]
        for i in self.order:
            yield [c[i] for c in cols]

    def column(self, name: str) -> np.ndarray:
        return self.cells[name][np.asarray(self.order, dtype=np.int64)] if self.order else self.cells[name][:0]

    def finish(self, truth: FileTruth) -> None:
        seen: set[int] = set()
        for pos, i in enumerate(self.order, start=1):
            if i in seen:
                truth.invalid_rows.append({"row": pos, "reasons": [{"field": None, "rule": "duplicate_row"}]})
                continue
            seen.add(i)
            if i in self.reasons:
                field, rule = self.reasons[i]
                if self.strict(field):
                    truth.invalid_rows.append({"row": pos, "reasons": [{"field": field, "rule": rule}]})
                else:
                    value = self.cells[field][i] if field in self.cells else None
                    truth.kept_rows.append({"row": pos, "field": field, "rule": rule,
                                            "value": value if isinstance(value, str) else None})
            for field, value, code in self.label_variants.get(i, ()):
                truth.label_variants.append({"row": pos, "field": field, "value": value, "code": code})
            for kind, field in self.anomalies.get(i, ()):
                truth.anomalies.append({"row": pos, "kind": kind, "field": field})
        truth.data_rows = len(self.order)
        truth.blank_rows = len(self.blank_before) + self.extra_blank_rows


@dataclass
class Spoil:
    """One way to break one rule: ``make`` returns the bad cell value (or ``apply`` edits the
    row itself); ``eligible`` restricts the rows it can apply to."""
    field: str | None
    rule: str
    make: Callable[[np.random.Generator, Sheet, int], object] | None = None
    eligible: Callable[[Sheet], np.ndarray] | None = None
    apply: Callable[[Sheet, int, np.random.Generator], None] | None = None


class SpoilPlan:
    """Spreads a feed's spoiled rows evenly over its files (error diffusion on the expected count)
    and cycles through the feed's menu so every rule appears once there are enough rows."""

    def __init__(self, rng: np.random.Generator, menu: list[Spoil], rate: float, dup_rate: float,
                 blank_rate: float, strict: Callable[[str | None], bool] = lambda field: True,
                 bound: tuple[float, int] = (1.0, 1 << 30), first: int | None = None):
        """``strict``: whether a spoil of a field quarantines its record; ``bound``: the feed's loss bound
        (share, minimum records), which no file may exceed: the sample must pass the gate every day, so a
        spoil or duplicate that would push a file past it is carried to the next file. ``first``: the menu
        entry to start the cycle with (else a random one), for a rule the sample holds nowhere else."""
        self.menu = menu
        self.strict = strict
        self.bound = bound
        self.rate, self.dup_rate, self.blank_rate = rate, dup_rate, blank_rate
        self.next_rule = int(rng.integers(0, len(menu))) if menu else 0
        if first is not None:
            self.next_rule = first
        # A head start, so that even a tiny feed (scale 0.01) has a few spoiled rows and one duplicate.
        self._acc = {"spoil": 2.0, "dup": 1.0, "blank": 1.0}
        self._taken = {"spoil": 0, "dup": 0, "blank": 0}

    def _count(self, kind: str, expected: float) -> int:
        self._acc[kind] += expected
        k = int(self._acc[kind] + 1e-9) - self._taken[kind]
        self._taken[kind] += k
        return k

    def apply(self, sheet: Sheet, rng: np.random.Generator, blanks: bool = True) -> None:
        sheet.strict = self.strict
        share, min_rows = self.bound
        budget = max(min_rows - 1, int(share * sheet.n)) - len(sheet.quarantined())
        for _ in range(self._count("spoil", self.rate * sheet.n)):
            for attempt in range(len(self.menu)):
                spoil = self.menu[self.next_rule % len(self.menu)]
                self.next_rule += 1
                strict = self.strict(spoil.field)
                if strict and budget <= 0:
                    continue
                mask = sheet.free() & ~sheet.unspoilable
                if spoil.eligible is not None:
                    mask &= spoil.eligible(sheet)
                candidates = np.flatnonzero(mask)
                if len(candidates):
                    i = int(rng.choice(candidates))
                    if spoil.apply is not None:
                        spoil.apply(sheet, i, rng)
                        sheet.reasons[i] = (spoil.field, spoil.rule)
                    else:
                        sheet.spoil(i, spoil.field, spoil.rule, spoil.make(rng, sheet, i))
                    budget -= strict
                    break
            else:
                self._taken["spoil"] -= 1          # nowhere to put it in this file: the next file takes it
        dups = self._count("dup", self.dup_rate * sheet.n)
        if dups > max(budget, 0):
            self._taken["dup"] -= dups - max(budget, 0)
            dups = max(budget, 0)
        sheet.duplicate(rng, dups)
        if blanks:
            sheet.blanks(rng, self._count("blank", self.blank_rate * sheet.n))


def present(sheet: Sheet, name: str) -> np.ndarray:
    col = sheet.cells[name]
    return np.array([v is not None and v != "" for v in col], dtype=bool)
