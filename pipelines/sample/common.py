"""Small helpers shared by the tabular feeds: templates per bureau, people, credit codes, corrections."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from pipelines.identifiers import CREDIT_ALPHABET, credit_check_char
from pipelines.sample import mess, variants
from pipelines.sample.context import Context
from pipelines.sample.places import GIVEN, SURNAMES
from pipelines.sample.table import Sheet
from pipelines.sample.writers import write_csv, write_xlsx


def person(rng: np.random.Generator) -> str:
    return SURNAMES[int(rng.integers(0, len(SURNAMES)))] + GIVEN[int(rng.integers(0, len(GIVEN)))]


def credit_code(rng: np.random.Generator, area: str, kind: str = "91", taken: set | None = None) -> str:
    """A valid GB 32100-2015 code: registration dept + entity type, area, organisation code, check.
    Organisation codes issued since 2015 start with MA; older ones are nine digits."""
    while True:
        if rng.random() < 0.6:
            org = "MA" + "".join(CREDIT_ALPHABET[int(i)] for i in rng.integers(0, len(CREDIT_ALPHABET), 7))
        else:
            org = "".join(str(int(i)) for i in rng.integers(0, 10, 9))
        first17 = kind + area + org
        code = first17 + credit_check_char(first17)
        if taken is None or code not in taken:
            if taken is not None:
                taken.add(code)
            return code


def days_between(rng: np.random.Generator, start: dt.date, end: dt.date, n: int) -> np.ndarray:
    span = (end - start).days
    return np.datetime64(start) + rng.integers(0, span + 1, n).astype("timedelta64[D]")


@dataclass
class Template:
    """How one bureau (or district office) lays out its exports: headers, date style,
    district spelling, encoding, blank-row style."""
    headers: list[str]
    date_style: str
    district_style: str
    encoding: str | None = None
    blank_style: str = "empty"
    crlf: bool = True
    fullwidth_share: float = 0.01
    extra: dict = field(default_factory=dict)

    def dates(self, rng, days, styles=mess.TEXT_DATE_STYLES, other_share=0.04):
        return mess.date_cells(days, rng, self.date_style, styles, other_share=other_share,
                               fullwidth_share=self.fullwidth_share)


def csv_template(ctx: Context, feed: str, columns: list[str], rng, encoding: str) -> Template:
    fits = mess.gbk_ok if encoding == "gbk" else (lambda h: True)
    headers = mess.pick_headers(ctx.contracts[feed], columns, rng, fits=fits)
    template = Template(headers=headers, date_style=mess.TEXT_DATE_STYLES[int(rng.integers(0, 4))],
                        district_style=("name", "short", "code")[int(rng.integers(0, 3))], encoding=encoding,
                        blank_style=("empty", "commas")[int(rng.integers(0, 2))], crlf=encoding != "utf-8")
    template.extra["seq"] = _seq_column(ctx, feed, columns)
    return template


def xlsx_template(ctx: Context, feed: str, columns: list[str], rng) -> Template:
    headers = mess.pick_headers(ctx.contracts[feed], columns, rng)
    style = mess.XLSX_DATE_STYLES[int(rng.choice(6, p=[0.2, 0.1, 0.05, 0.05, 0.2, 0.4]))]
    template = Template(headers=headers, date_style=style,
                        district_style=("name", "short", "code")[int(rng.integers(0, 3))])
    template.extra["seq"] = _seq_column(ctx, feed, columns)
    return template


def _seq_column(ctx: Context, feed: str, columns: list[str]) -> bool:
    """Whether a template starts with a 序号 column (its own stream: the template's other draws stay)."""
    return bool(ctx.rng(feed, "seq", *columns).random() < variants.SEQ_COLUMN_SHARE)


def text_date_style(template: Template) -> str:
    """A text style for values written by hand in a file whose main style may be a cell type."""
    return template.date_style if template.date_style in mess.TEXT_DATE_STYLES else "iso"


def write_table(ctx: Context, feed: str, name: str, template: Template, sheet: Sheet, when: dt.date,
                title: str | None = None, remarks: str | None = None, subtitle: str | None = None,
                spacer: bool = False, supersedes: list | None = None):
    """Write a CSV or xlsx file per the feed's contract format, record it in the truth."""
    contract = ctx.contracts[feed]
    fmt = contract.format
    headers = prepare(ctx, feed, name, template.headers, sheet, seq=template.extra.get("seq", False))
    if fmt == "csv":
        path, truth = ctx.new_file(feed, name, "csv", encoding=template.encoding)
        write_csv(path, headers, sheet, template.encoding, template.blank_style, template.crlf)
        truth.header_row = 1
    else:
        path, truth = ctx.new_file(feed, name, "xlsx")
        truth.header_row = write_xlsx(path, headers, sheet, title, remarks, subtitle=subtitle,
                                      spacer=spacer)
    record_headers(contract, truth, sheet, headers)
    sheet.finish(truth)
    if supersedes:
        truth.supersedes = supersedes
    ctx.delivered(path, when)
    return path, truth


def prepare(ctx: Context, feed: str, name: str, headers: list[str], sheet: Sheet, seq: bool = False) -> list[str]:
    """Before a file is written: a share of its labels in variant spellings, and the 序号 column of its
    template. Returns the headers to write."""
    variants.vary_labels(ctx.contracts[feed], sheet, ctx.rng(feed, "labels", name))
    return variants.add_seq_column(sheet, headers) if seq else list(headers)


def record_headers(contract, truth, sheet: Sheet, headers: list[str]) -> None:
    """What the loader must report about a file's header row."""
    names = [n for n in sheet.names if n != "geometry"]
    heads = headers[:len(names)]
    truth.header_variants = variants.header_truth(contract, names, heads)
    truth.unmatched_headers = [h for n, h in zip(names, heads) if n == variants.SEQ_HEADER]
    truth.missing_columns = variants.missing_columns(contract, names)


def record_correction(ctx: Context, feed: str, truth, keys: list[list], originals: list[str]) -> None:
    truth.supersedes = keys
    ctx.truth.corrections.append({"feed": feed, "file": truth.path, "keys": keys,
                                  "originals": sorted(set(originals))})
