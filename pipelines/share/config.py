"""The declarative sharing configuration of ``sharing/*.yml``, loaded and checked.

It holds only what nothing else says: 资源代码, 提供方, 共享类型 and 共享条件, 数据分级, and the recipients that the
seed departments and the district list do not spell out. See sharing/datasets.yml for the meaning of each key.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from pipelines.home import DBT_PROJECT_DIR, REPO_ROOT, SOURCES_DIR

SHARING_DIR = REPO_ROOT / "sharing"

# 共享类型 codes and their catalogue wording (《政务数据共享条例》 第二章: the three share attributes)
SHARE_TYPES = {"unconditional": "无条件共享", "conditional": "有条件共享", "none": "不予共享"}
# GB/T 43697-2024 §6.1: three grades, from low to high
GRADES = ("一般", "重要", "核心")


class SharingConfigError(ValueError):
    pass


@dataclass(frozen=True)
class DatasetConfig:
    name: str
    seq: int
    provider: str
    share_type: str
    grade: str
    owners: tuple[str, ...] = ()          # co-owners besides the provider (see personal fields)
    conditions: str = ""
    basis: str = ""                       # legal basis of 不予共享
    column_grades: dict[str, str] = field(default_factory=dict)
    methods: tuple[str, ...] = ()

    @property
    def all_owners(self) -> tuple[str, ...]:
        return (self.provider, *[o for o in self.owners if o != self.provider])

    @property
    def share_type_zh(self) -> str:
        return SHARE_TYPES[self.share_type]


@dataclass(frozen=True)
class SharingConfig:
    datasets: dict[str, DatasetConfig]
    code_scheme: dict[str, object]
    provider_codes: dict[str, str]
    district_column: str
    small_dataset_rows: int
    response_working_days: int
    approval_valid_days: int

    def code(self, dataset: str) -> str:
        """资源代码: 类 + 项 + 目 + 细目 (provider) / 顺序码."""
        d = self.datasets[dataset]
        s = self.code_scheme
        digits = int(s.get("sequence_digits", 6))
        return f"{s['class']}{s['item']}{s['category']}{self.provider_codes[d.provider]}/{d.seq:0{digits}d}"


def _dataset(name: str, raw: dict, defaults: dict) -> DatasetConfig:
    missing = [k for k in ("seq", "provider", "share_type", "grade") if raw.get(k) in (None, "")]
    if missing:
        raise SharingConfigError(f"sharing/datasets.yml: {name} 缺少 {', '.join(missing)}")
    if raw["share_type"] not in SHARE_TYPES:
        raise SharingConfigError(f"{name}: share_type {raw['share_type']!r} ∉ {sorted(SHARE_TYPES)}")
    grades = [raw["grade"], *(raw.get("column_grades") or {}).values()]
    if any(g not in GRADES for g in grades):
        raise SharingConfigError(f"{name}: 数据分级须为 {'/'.join(GRADES)} (GB/T 43697-2024), got {grades}")
    if raw["share_type"] == "conditional" and not raw.get("conditions"):
        raise SharingConfigError(f"{name}: 有条件共享须注明共享条件 (conditions)")
    if raw["share_type"] == "none" and not raw.get("basis"):
        raise SharingConfigError(f"{name}: 不予共享须注明法律、法规或政策依据 (basis)")
    return DatasetConfig(
        name=name, seq=int(raw["seq"]), provider=raw["provider"], share_type=raw["share_type"],
        grade=raw["grade"], owners=tuple(raw.get("owners") or ()), conditions=raw.get("conditions") or "",
        basis=raw.get("basis") or "", column_grades=dict(raw.get("column_grades") or {}),
        methods=tuple(raw.get("methods") or defaults.get("default_methods") or ()))


@lru_cache(maxsize=None)
def load_sharing_config(path: Path = SHARING_DIR / "datasets.yml") -> SharingConfig:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    datasets = {name: _dataset(name, body or {}, raw) for name, body in (raw.get("datasets") or {}).items()}
    seqs = [d.seq for d in datasets.values()]
    if len(seqs) != len(set(seqs)):
        raise SharingConfigError("sharing/datasets.yml: 顺序码 seq 重复 (duplicate seq)")
    codes = raw["provider_codes"]
    for d in datasets.values():
        if d.provider not in codes:
            raise SharingConfigError(f"{d.name}: 提供方 {d.provider} 没有提供方代码 (provider_codes)")
    return SharingConfig(
        datasets=datasets, code_scheme=raw["code_scheme"], provider_codes=codes,
        district_column=raw.get("district_column", "district_code"),
        small_dataset_rows=int(raw.get("small_dataset_rows", 50000)),
        response_working_days=int(raw.get("response_working_days", 10)),
        approval_valid_days=int(raw.get("approval_valid_days", 365)))


# ------------------------------------------------------------------------------------------------------------
# Recipients: the seed departments plus one government per district
# ------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RecipientInfo:
    id: str
    name_zh: str
    kind: str                      # department / district_government
    district_code: str | None = None
    role_zh: str = ""
    operator: bool = False         # sees every bureau's usage (platform operator)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@lru_cache(maxsize=None)
def load_recipients(path: Path = SHARING_DIR / "recipients.yml") -> dict[str, RecipientInfo]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    departments = _read_csv(DBT_PROJECT_DIR / "seeds" / "departments.csv")
    districts = _read_csv(SOURCES_DIR / "reference" / "districts.csv")
    bodies = {k: str(v) for k, v in (raw.get("district_bodies") or {}).items()}
    operators = set(raw.get("operators") or ())
    excluded = {str(c) for c in raw.get("exclude_districts") or ()}
    out: dict[str, RecipientInfo] = {}
    for dept in departments:
        code = dept["dept_code"]
        if code == raw["district_governments_row"]:
            for d in districts:
                if d["district_code"] in excluded or d["district_code"] in bodies.values():
                    continue
                rid = raw["district_government_id"].format(district_code=d["district_code"])
                out[rid] = RecipientInfo(rid, raw["district_government_name"].format(name_zh=d["name_zh"]),
                                         "district_government", d["district_code"], dept["role_zh"])
        elif code in bodies:
            out[code] = RecipientInfo(code, dept["name_zh"], "district_government", bodies[code], dept["role_zh"])
        else:
            out[code] = RecipientInfo(code, dept["name_zh"], "department", None, dept["role_zh"],
                                      operator=code in operators)
    return out
