"""How bureau exports misbehave: valid-but-messy renderings and deliberately invalid values.

Two kinds of mess, kept strictly apart because the truth file must be exact:

* **valid but messy** (never in ``invalid_rows``): every date style of DOMAIN.md §3, full-width
  digits, units inside values (``DN400``, ``d400``, ``400mm``, ``12.5万元``), header synonyms,
  district names / short names / codes (玉环县 and 331021 in older data), enum synonyms.
  The loader must read all of these.
* **invalid** (each listed with one ``(field, rule)``): values built by :func:`spoil_value` so
  that exactly one rule of the contract fails. Their strings are chosen so that no reasonable
  reader can take them for a null marker or parse them (``#VALUE!``, ``2024-02-30``, ``DN4OO``).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np

from pipelines.contracts import Column, Contract
from pipelines.sample.places import DISTRICT_BY_CODE, YUHUAN_OLD_CODE, YUHUAN_OLD_NAME

EXCEL_EPOCH = dt.date(1899, 12, 30)
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")

# Text date styles every reader must accept; "serial" (an Excel serial number stored as a number)
# and "cell" (a real Excel date cell) exist only in .xlsx files.
TEXT_DATE_STYLES = ("iso", "slash", "compact", "chinese")
XLSX_DATE_STYLES = TEXT_DATE_STYLES + ("serial", "cell")


def fullwidth(text: str) -> str:
    return text.translate(FULLWIDTH)


def fmt_date(day: dt.date, style: str):
    if style == "iso":
        return day.isoformat()
    if style == "slash":
        return f"{day.year}/{day.month}/{day.day}"
    if style == "compact":
        return f"{day.year:04d}{day.month:02d}{day.day:02d}"
    if style == "chinese":
        return f"{day.year}年{day.month}月{day.day}日"
    if style == "serial":
        return (day - EXCEL_EPOCH).days
    if style == "cell":
        return dt.datetime(day.year, day.month, day.day)
    raise ValueError(style)


def to_date(value: np.datetime64 | dt.date) -> dt.date:
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(np.datetime64(value, "D")))


def date_cells(days: np.ndarray, rng: np.random.Generator, main: str, styles: tuple[str, ...],
               other_share: float = 0.04, fullwidth_share: float = 0.0) -> np.ndarray:
    """Render an array of datetime64[D] (NaT = empty) in a file's main style, with a share of
    rows hand-typed in the other styles and a share of text dates in full-width digits."""
    n = len(days)
    style_idx = np.full(n, styles.index(main))
    other = rng.random(n) < other_share
    style_idx[other] = rng.integers(0, len(styles), other.sum())
    wide = rng.random(n) < fullwidth_share
    out = np.empty(n, dtype=object)
    for i, (d, s, w) in enumerate(zip(days, style_idx, wide)):
        if np.isnat(d):
            out[i] = None
            continue
        v = fmt_date(to_date(d), styles[s])
        out[i] = fullwidth(v) if (w and isinstance(v, str)) else v
    return out


def number_text(values: np.ndarray, decimals: int, rng: np.random.Generator,
                fullwidth_share: float = 0.0) -> np.ndarray:
    """Numbers as text (CSV cells), NaN = empty, a share in full-width digits."""
    out = np.empty(len(values), dtype=object)
    wide = rng.random(len(values)) < fullwidth_share
    for i, (v, w) in enumerate(zip(values, wide)):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            out[i] = None
            continue
        t = f"{v:.{decimals}f}" if decimals > 0 else str(int(round(v)))
        out[i] = fullwidth(t) if w else t
    return out


PIPE_SIZE_STYLES = ("DN", "d", "mm", "bare", "number")
SHORT_ALIAS = {"331099": "湾区"}      # an alias of districts.csv


def fmt_pipe_size(diameter: int, box_w: int, box_h: int, style: str):
    """``DN400``, ``d400``, ``400mm``, ``400`` or the number 400; a box culvert is ``B×H`` in mm."""
    if box_w > 0:
        return f"{box_w}×{box_h}"
    if style == "DN":
        return f"DN{diameter}"
    if style == "d":
        return f"d{diameter}"
    if style == "mm":
        return f"{diameter}mm"
    if style == "bare":
        return str(diameter)
    return int(diameter)


def fmt_district(code: str, style: str, old_yuhuan: bool = False) -> str:
    """A district as bureaus write it: official name, short name or code; 玉环 in older data as
    玉环县 / 331021."""
    d = DISTRICT_BY_CODE[code]
    if old_yuhuan and code == "331083":
        return YUHUAN_OLD_CODE if style == "code" else YUHUAN_OLD_NAME
    if style == "code":
        return d.code
    if style == "short":
        return SHORT_ALIAS.get(code, d.short)
    return d.name


def pick_headers(contract: Contract, names: list[str], rng: np.random.Generator, canonical_share: float = 0.6,
                 fits: Callable[[str], bool] = lambda h: True, ascii_codes: bool = False,
                 line_breaks: bool = True) -> list[str]:
    """One header per column for one bureau's template: the canonical header (first synonym) or
    one of its spelling variants. Only synonyms of the contract are used (the loader maps headers
    through them); pinyin field codes (GDBH, QX…) only where GIS exports use them."""
    out = []
    for name in names:
        col = contract.column(name)
        options = [s for s in col.synonyms if fits(s)]
        codes = [s for s in options if s.isascii() and s.isupper() and s.isalpha()]
        words = [s for s in options if s not in codes]
        if ascii_codes and codes:
            options = codes
        elif words:
            options = words
        if not options:
            raise ValueError(f"{contract.feed}.{name}: no header synonym fits this file format")
        if options[0] == col.header and rng.random() < canonical_share:
            out.append(options[0])
        else:
            out.append(options[int(rng.integers(0, len(options)))])
    if len(set(out)) != len(out):
        raise ValueError(f"{contract.feed}: two columns share a header {out}")
    # a share of templates spell a header in a way the synonyms do not list (pipelines/sample/variants.py);
    # a child stream, so the draws above stay as they were
    from pipelines.sample.variants import vary_headers
    return vary_headers(contract, names, out, np.random.default_rng(int(rng.integers(0, 2**32))), fits=fits,
                        line_breaks=line_breaks)


def gbk_ok(text: str) -> bool:
    try:
        text.encode("gbk")
        return True
    except UnicodeEncodeError:
        return False


def shapefile_ok(text: str) -> bool:
    """DBF field names hold at most 10 bytes (UTF-8)."""
    return len(text.encode("utf-8")) <= 10


# ---------------------------------------------------------------------------------------------
# Invalid values: each breaks exactly one rule of its column.

TYPE_GARBAGE = {
    "decimal": ("#VALUE!", "1.2.3", "12..5", "#DIV/0!"),
    "integer": ("#VALUE!", "1.2.3", "12..5"),
    "year": ("19?5", "#VALUE!", "20l8"),
    "date": ("2024-02-30", "2024-13-05", "2023年13月8日", "#VALUE!", "2024/6/31"),
    "pipe_size": ("DN4OO", "DN#", "#VALUE!"),
}

# Labels that look right to a clerk but name no category the contracts map (hand-written from DOMAIN.md and
# bureau practice, never read from sources/*.yml: tests/unit/test_sample_spoils.py checks that the contracts
# reject every one, so a contract that starts accepting one of them fails there and in the sample's truth).
BAD_LABELS = {
    "pipe_category": ("污水管道", "污水干管"),
    "section_shape": ("椭圆形", "马蹄形"),
    "material": ("陶土管", "石棉水泥"),
    "scope": ("农村", "城郊"),
    "data_source": ("其他", "不详来源"),
    "manhole_type": ("窨井", "化粪池"),
    "method": ("潜望镜", "人工目测"),
    "defect_code": ("BL", "PX"),
    "defect_grade": ("5", "五级"),
    "holder_type": ("其它", "餐馆"),
    "status": ("同上", "见备注"),                  # "ditto", "see remarks": not a status of any register
    "management_class": ("重点管理类", "一般"),
    "discharge_destination": ("进入市政管网", "其他"),
    "source_bureau": ("市公安局", "市城管局"),
    "violation_type": ("其它", "违规排水"),
    "case_status": ("已办结", "待处理"),
    "inspection_method": ("日常巡查", "随机抽查"),
    "sampling_point": ("中间池", "二沉池"),
    "misconnection_type": ("污废混接", "混接"),
    "severity": ("一般", "待定"),
    "rectification_status": ("已完成", "待整改"),
    "project_type": ("管网改造", "其他"),
    "funding_source": ("省级补助", "自筹"),
}

# Values no bureau record can truthfully hold, per field, in the stored unit: placeholders (-99, 9999, 99999),
# values typed in the wrong unit (a length or depth in mm or cm, a concentration in µg/L), negative amounts,
# dates from default settings (1970-01-01) or year typos (2042 for 2024). Hand-written from the physical
# meaning of each field and Taizhou's setting (a coastal plain with hill towns; its treatment capacity totals
# under 2 million m³/d), NOT from the contracts' ``range``: the contracts must reject every one
# (tests/unit/test_sample_spoils.py, and the loader's quarantine against the sample's truth), which is what
# shows that their ranges fit the bureaus' data rather than the other way round.
OUT_OF_RANGE = {
    "install_year": (1899, 1024, 2099, 3024),               # before modern sewers, year typos, the future
    "length_m": (0, -12.5, 45000, 120000),                  # zero, negative, a segment typed in mm
    "pipe_size": (15, 20, 40000, 12000),                    # mm: a water service pipe, not a sewer; typos
    "end_invert_m": (-99, 9999, 1500, 2750),                # placeholders, invert typed in mm
    "ground_elevation_m": (-99, 9999, 4500),                # placeholders, elevation typed in mm
    "depth_m": (0, -1.5, 150, 2500),                        # zero, negative, cm, mm
    "inspected_on": (dt.date(1970, 1, 1), dt.date(2042, 5, 17), dt.date(2099, 12, 31)),
    "inspected_length_m": (0, -30, 45000),                  # zero, negative, mm
    "permitted_volume_m3d": (0, -50, 2500000),              # more than the whole city treats per day
    "permitted_cod_t_a": (-12.5, -1, 250000),               # negative; more than the province discharges
    "bod5_mg_l": (-5, 12000, 99999),                        # negative, µg/L, placeholder
    "cod_mg_l": (-20, 48000, 99999),
    "tp_mg_l": (-0.5, 350, 9999),
}


def out_of_range(col: Column, rng: np.random.Generator):
    """One of the field's hand-written impossible values (``OUT_OF_RANGE``)."""
    options = OUT_OF_RANGE[col.name]
    return options[int(rng.integers(0, len(options)))]


def type_garbage(col: Column, rng: np.random.Generator) -> str:
    options = TYPE_GARBAGE[col.type]
    return options[int(rng.integers(0, len(options)))]


def bad_label(col: Column, rng: np.random.Generator) -> str:
    options = BAD_LABELS[col.name]
    return options[int(rng.integers(0, len(options)))]


# ---------------------------------------------------------------------------------------------
# Spoil factories: one (field, rule) each, valid formatting for the file's cell kind.

def spoil_required(name: str):
    from pipelines.sample.table import Spoil, present
    return Spoil(name, "required", lambda rng, sheet, i: None, eligible=lambda sheet: present(sheet, name))


def spoil_type(col: Column):
    from pipelines.sample.table import Spoil
    return Spoil(col.name, "type", lambda rng, sheet, i: type_garbage(col, rng))


def spoil_enum(col: Column):
    from pipelines.sample.table import Spoil
    return Spoil(col.name, "enum", lambda rng, sheet, i: bad_label(col, rng))


def spoil_range(col: Column, as_text: bool = False, date_style: str = "iso", scale: float = 1.0):
    """``scale`` converts the stored unit to the file's unit (e.g. yuan → 万元: 1e-4)."""
    from pipelines.sample.table import Spoil

    def make(rng, sheet, i):
        v = out_of_range(col, rng)
        if col.type == "pipe_size":
            return f"DN{v}"
        if col.type == "date":
            return fmt_date(v, date_style)
        if scale != 1.0:
            v = round(v * scale, 4)
        return str(v) if as_text else v
    return Spoil(col.name, "range", make)


def spoil_credit_code(name: str = "credit_code"):
    """A credit code that fails GB 32100: a wrong check character (alphabet kept), or a letter
    the alphabet excludes (I, O, S, V, Z) typed for a look-alike."""
    from pipelines.identifiers import CREDIT_ALPHABET
    from pipelines.sample.table import Spoil, present

    def make(rng, sheet, i):
        code = str(sheet.cells[name][i])
        if rng.random() < 0.7:
            wrong = [c for c in CREDIT_ALPHABET if c != code[17]]
            return code[:17] + wrong[int(rng.integers(0, len(wrong)))]
        pos = int(rng.integers(8, 17))
        swap = {"0": "O", "1": "I", "5": "S", "2": "Z"}
        ch = swap.get(code[pos], "O")
        return code[:pos] + ch + code[pos + 1:]
    return Spoil(name, "credit_code", make, eligible=lambda sheet: present(sheet, name))
