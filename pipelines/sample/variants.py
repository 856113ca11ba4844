"""Spellings the contracts do not list letter for letter, as real exports have them (issue 8).

The generator and the contracts were written from the same assumptions, so a sample spelled only with the
contracts' synonyms would never exercise the tolerant path. Here, at a realistic rate:

* **header variants**: a bureau's template spells one header (sometimes two) another way: a 所在 prefix or a
  名称 suffix on 区县, a dropped 编号, a unit in brackets, a line break or a space inside the cell, an English
  header. Recorded in ``sample_truth.json`` ``header_variants`` (header → column) when the header is not a
  synonym of its column; the loader must map each to its column and report it.
* **unmatched headers**: some templates carry a 序号 (row number) column, which names no contract column.
* **label variants**: a share of enum cells is written in another spelling of the same value: another label
  of the same code in the contract (结案 / 已结案 / 办结), a space inside, full-width letters, a bracketed
  remark after the label. Recorded in ``label_variants`` with the code the loader must store.

These are not errors: every variant must load to the same value as the canonical spelling.
"""
from __future__ import annotations

import numpy as np

from pipelines.contracts import Contract
from pipelines.sample.table import Sheet

TEMPLATE_VARIANT_SHARE = 0.35      # templates with one header spelled another way
SECOND_VARIANT_SHARE = 0.10        # … and with a second one
SEQ_COLUMN_SHARE = 0.20            # tabular templates with a leading 序号 column
LABEL_VARIANT_SHARE = 0.01         # enum cells written in a variant spelling
SEQ_HEADER = "序号"
REMARKS = ("已核实", "待复核", "见附件")
_WIDE = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})


def english(name: str) -> str:
    """An English header for a canonical name, as a clerk would type it: ``district_code`` → ``District``,
    ``segment_id`` → ``Segment ID``, ``permit_no`` → ``Permit No.``, ``depth_m`` → ``Depth``."""
    words = name.split("_")
    while len(words) > 1 and words[-1] in ("m", "mm", "m3d", "yuan", "mg", "l", "t", "a"):
        words.pop()
    if words[-1] == "code" and len(words) > 1 and words[0] == "district":
        words.pop()
    special = {"id": "ID", "no": "No.", "mn": "MN"}
    return " ".join(special.get(w, w.capitalize()) for w in words)


def header_candidates(contract: Contract, name: str, header: str, line_breaks: bool) -> list[str]:
    """Rule variants of one header that are not already a spelling of the column."""
    column = contract.column(name)
    literal = {s.strip() for s in (column.name, column.zh, *column.synonyms)}
    out: list[str] = []
    if column.type == "district" and header in ("区县", "所属区县"):
        out += ["所在区县", "区县名称"]
    if header.endswith("编号") and len(header) > 4:
        out.append(header[:-2])
    if column.unit in ("m", "mm") and not any(b in header for b in "(（[【"):
        out.append(header + ("（米）" if column.unit == "m" else "（毫米）"))
    if not header.isascii() and len(header) >= 2:
        out.append(header[:1] + " " + header[1:])
        if line_breaks and len(header) >= 4:
            out.append(header[:len(header) // 2] + "\n" + header[len(header) // 2:])
    out.append(english(name))
    return [h for h in dict.fromkeys(out) if h.strip() not in literal]


def vary_headers(contract: Contract, names: list[str], headers: list[str], rng: np.random.Generator,
                 fits=lambda h: True, line_breaks: bool = True) -> list[str]:
    """A template's headers with, at the shares above, one or two of them spelled another way."""
    count = int(rng.random() < TEMPLATE_VARIANT_SHARE) + int(rng.random() < SECOND_VARIANT_SHARE)
    out = list(headers)
    for i in rng.permutation(len(names))[:count] if count else []:
        options = [h for h in header_candidates(contract, names[i], out[i], line_breaks)
                   if fits(h) and h not in out]
        if options:
            out[int(i)] = options[int(rng.integers(0, len(options)))]
    return out


def header_truth(contract: Contract, names: list[str], headers: list[str]) -> list[dict]:
    """``header_variants`` of a file: each header that is not a spelling of its column, and the column."""
    out = []
    for name, header in zip(names, headers):
        if name not in {c.name for c in contract.columns}:
            continue
        column = contract.column(name)
        if header.strip() not in {s.strip() for s in (column.name, column.zh, *column.synonyms)}:
            out.append({"header": header, "field": name})
    return out


def missing_columns(contract: Contract, names: list[str]) -> list[str]:
    """The contract columns a file's template does not carry (NULL throughout; the loader reports them)."""
    return [c.name for c in contract.columns if c.type != "geometry" and not c.derived and c.name not in names]


def label_variant(label: str, codes: dict[str, object], rng: np.random.Generator) -> str | None:
    """Another spelling of ``label`` that a reader must map to the same code, or None."""
    code = codes[label]
    options = [other for other, c in codes.items() if c == code and other != label]
    if len(label) >= 2 and not label.isascii():
        options.append(label[:1] + " " + label[1:])
    if label.isascii() and any(ch.isalpha() for ch in label):
        options.append(label.translate(_WIDE))
    options.append(f"{label}（{REMARKS[int(rng.integers(0, len(REMARKS)))]}）")
    return options[int(rng.integers(0, len(options)))] if options else None


def vary_labels(contract: Contract, sheet: Sheet, rng: np.random.Generator,
                share: float = LABEL_VARIANT_SHARE) -> None:
    """Write a share of the enum cells of clean rows in a variant spelling (recorded on the sheet)."""
    for column in contract.columns:
        if column.type != "enum" or column.role == "identity" or column.name not in sheet.cells:
            continue
        cells = sheet.cells[column.name]
        pick = np.flatnonzero(rng.random(sheet.n) < share)
        for i in pick:
            i = int(i)
            label = cells[i]
            if i in sheet.reasons or not isinstance(label, str) or label not in column.values:
                continue
            variant = label_variant(label, column.values, rng)
            if variant is None:
                continue
            cells[i] = variant
            sheet.label_variants[i].append((column.name, variant, column.values[label]))


def add_seq_column(sheet: Sheet, headers: list[str]) -> list[str]:
    """A leading 序号 column (1, 2, … in the order rows were made; a pasted copy repeats its number)."""
    sheet.names.insert(0, SEQ_HEADER)
    sheet.cells[SEQ_HEADER] = np.array([i + 1 for i in range(sheet.n)], dtype=object)
    return [SEQ_HEADER, *headers]
