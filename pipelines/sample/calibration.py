"""The numbers that make the sample plausible, and where each comes from.

Calibrated on the real public data in ``../shared/realdata`` (``derive()`` recomputes each figure
from those files; ``python -m pipelines.sample.calibration`` prints them, and a test checks the
constants below against them):

* chaohu-swmm (a Chinese sewer SWMM model, 134 conduits): segment length median 31.2 m, 10–90%
  23–46 m (lognormal σ ≈ 0.31); 26 of 134 conduits are closed rectangles (box culverts).
* miamisburg-pacp (NASSCO PACP CCTV survey, 2,280 inspections, 32,429 observations): defects per
  100 m inspected by material (VCP 17.7, RC 4.6, plastic truss 0.9, PVC 0.64) → relative rates;
  code mix per material after mapping PACP codes onto CJJ 181 codes (``PACP_TO_CJJ``); the share of
  inspections without any defect. The export has no install years, so the age effect is an
  assumption (rate × (0.5 + age/20)).
* uci-wwtp (Barcelona plant, 527 days): influent BOD5 day-to-day CV 0.33 and lag-1
  autocorrelation 0.46; influent COD/BOD5 median 2.22; SS/BOD5 median 1.12.
* melbourne-wwtp (Melbourne ETP, 1,382 days): COD/BOD5 median 2.12 (agrees with uci); its monthly
  BOD swing (±5%) belongs to a dry climate, so Taizhou's plum-rain/typhoon dilution (±15%, lowest
  in July) is an assumption.

Not calibrated (stated assumptions): BOD5 levels (DOMAIN/issue: mostly 80–200 mg/L, some plants
below 100), effluent levels near the DB33/2169 limits, flag rates, permit and case volumes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

# -- network (chaohu-swmm) ----------------------------------------------------------------------
SEGMENT_LENGTH_MEDIAN_M = 31.0
SEGMENT_LENGTH_SIGMA = 0.31
SEGMENT_LENGTH_MIN_M = 6.0
SEGMENT_LENGTH_MAX_M = 150.0
BOX_CULVERT_SHARE_OLD_TRUNK = 0.35   # chaohu: 19% of all conduits; here only old trunks ≥ DN800
LATERAL_PROB_PER_SIDE = 0.22
RUN_NODES_LEVEL1 = 12
RUN_NODES_DEEPER = 9

_DIAMETER_STEPS = ((15, 300), (60, 400), (150, 500), (400, 600), (900, 800), (1800, 1000), (3000, 1200))


def diameter_for_upstream(upstream: np.ndarray) -> np.ndarray:
    out = np.full(len(upstream), 1500)
    for limit, dn in reversed(_DIAMETER_STEPS):
        out = np.where(upstream < limit, dn, out)
    return out


def min_slope(size_mm: np.ndarray) -> np.ndarray:
    """GB 50014 minimum design slopes (plastic ≈ concrete here): DN300 0.003, DN400 0.0015,
    larger 0.001 → 0.0006."""
    return np.select([size_mm <= 300, size_mm <= 400, size_mm <= 600, size_mm <= 1000],
                     [0.003, 0.0015, 0.0012, 0.0008], 0.0006)


MATERIALS = ("RC", "HDPE", "PE", "PVC", "DI", "CI", "ST", "GRP", "BRICK")
# Probabilities by era and size (assumption from Chinese practice: concrete before the 2000s,
# HDPE corrugated pipe for small sewers since).
_MAT_P = {
    "old": (0.82, 0.00, 0.00, 0.05, 0.00, 0.08, 0.02, 0.00, 0.03),
    "mid": (0.60, 0.12, 0.00, 0.20, 0.05, 0.00, 0.03, 0.00, 0.00),
    "new_small": (0.20, 0.50, 0.10, 0.15, 0.05, 0.00, 0.00, 0.00, 0.00),
    "new_large": (0.75, 0.00, 0.00, 0.00, 0.10, 0.00, 0.05, 0.10, 0.00),
}


def materials(rng: np.random.Generator, year: np.ndarray, diameter: np.ndarray) -> np.ndarray:
    era = np.where(year < 1995, "old", np.where(year < 2009, "mid",
                                                 np.where(diameter <= 600, "new_small", "new_large")))
    out = np.empty(len(year), dtype=object)
    for key, p in _MAT_P.items():
        m = era == key
        out[m] = np.array(MATERIALS)[rng.choice(len(MATERIALS), size=int(m.sum()), p=p)]
    return out


# -- defects (miamisburg-pacp) ------------------------------------------------------------------
# Defects per 100 m inspected relative to reinforced concrete (PACP: RC 5.47, VCP 17.73,
# PVC 0.64, truss plastic 0.92, other 2.13). Brick sewers take the old jointed-clay (VCP) rate,
# metal pipes the "other" rate, PE/HDPE/GRP the plastic truss rate.
MATERIAL_RATE = {"RC": 1.0, "BRICK": 3.24, "PVC": 0.12, "HDPE": 0.17, "PE": 0.17, "GRP": 0.17,
                 "DI": 0.39, "CI": 0.39, "ST": 0.39}
# Scale of the defect count so that scale 1 gives ~250k inspection rows (issue point 7).
DEFECTS_PER_100M_RC_AT_20Y = 16.0
DEFECT_DISPERSION = 0.6   # gamma shape of the negative binomial: PACP counts are very overdispersed


def age_factor(age: np.ndarray) -> np.ndarray:
    """Assumption (the PACP export has no install years): rate × (0.5 + age/20)."""
    return 0.5 + np.maximum(age, 0) / 20.0


CODES = ("PL", "BX", "FS", "CK", "QF", "TJ", "TL", "AJ", "CR", "SL", "CJ", "JG", "ZW", "CQ", "SG", "FZ")
STRUCTURAL = ("PL", "BX", "FS", "CK", "QF", "TJ", "TL", "AJ", "CR", "SL")


def _contract_grades() -> dict[str, tuple[int, ...]]:
    """The grades each code has (CJJ 181-2012), from the inspections contract's grade_for_code rule."""
    from pipelines.contracts import load_contracts

    for rule in load_contracts()["inspections"].row_rules:
        if rule["rule"] == "grade_for_code":
            return {code: tuple(int(g) for g in grades) for code, grades in rule["grades"].items()}
    raise KeyError("inspections contract has no grade_for_code grades")


ALLOWED_GRADES = _contract_grades()
# PACP observations per CJJ code (mapped with PACP_TO_CJJ) in Miamisburg, per material group.
PACP_CODE_COUNTS = {
    "RC": {"AJ": 76, "CJ": 20, "CK": 2, "FS": 58, "JG": 130, "PL": 72, "SG": 28, "SL": 74, "ZW": 11},
    "PLASTIC": {"AJ": 15, "CJ": 21, "CK": 6, "FS": 1, "JG": 46, "PL": 16, "SG": 5, "SL": 27, "TJ": 2, "TL": 1,
                "ZW": 1},
    "CLAY": {"AJ": 977, "BX": 55, "CJ": 199, "CK": 198, "FS": 18, "JG": 3834, "PL": 9006, "QF": 8, "SG": 1254,
             "SL": 613, "TJ": 12, "TL": 2, "ZW": 52},
}
MATERIAL_GROUP = {"RC": "RC", "DI": "RC", "CI": "RC", "ST": "RC", "BRICK": "CLAY", "PVC": "PLASTIC",
                  "HDPE": "PLASTIC", "PE": "PLASTIC", "GRP": "PLASTIC"}
PACP_SHARE = 0.7          # the rest spread evenly over all 16 CJJ codes (PACP lacks several)
GRADE_BASE = np.array([0.45, 0.30, 0.17, 0.08])


def code_mix(group: str) -> np.ndarray:
    counts = PACP_CODE_COUNTS[group]
    p = np.array([counts.get(c, 0) for c in CODES], dtype=float)
    p = PACP_SHARE * p / p.sum() + (1 - PACP_SHARE) / len(CODES)
    return p / p.sum()


def grade_probs(codes: np.ndarray, age: np.ndarray) -> np.ndarray:
    """Per-row probabilities of grades 1–4: older pipes have worse defects; grades a code does
    not have (CJJ 181 tables 8.2.3 / 8.3.3) get zero."""
    shift = (1 + np.maximum(age, 0) / 30.0)[:, None] ** np.arange(4)[None, :]
    p = GRADE_BASE[None, :] * shift
    allowed = np.array([[g in ALLOWED_GRADES[c] for g in (1, 2, 3, 4)] for c in CODES])
    code_idx = np.searchsorted(np.array(sorted(CODES)), codes)
    order = np.argsort(np.array(CODES))
    p = p * allowed[order][code_idx]
    return p / p.sum(axis=1, keepdims=True)


# -- plants (uci-wwtp, melbourne-wwtp) -----------------------------------------------------------
BOD_DAILY_CV = 0.33
BOD_AR1 = 0.46
COD_PER_BOD = 2.2
SS_PER_BOD = 1.12
SEASONAL_AMPLITUDE = 0.15
# Influent nutrients relative to BOD5 (assumption, typical Chinese municipal influent).
NH3N_PER_BOD, TN_PER_BOD, TP_PER_BOD = 0.22, 0.32, 0.035
# Share of hours with non-N data flags (issue: "D/M/C on a few percent of hours").
FLAG_SHARE = {"M": 0.012, "C": 0.010, "D": 0.008, "T": 0.001}   # T: over the analyzer range (超测上限), rare

REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata"

# PACP → CJJ 181: exact codes first, then prefixes (S* surface damage → 腐蚀, I* infiltration → 渗漏,
# R* roots → 树根, DA* attached deposits → 结垢, DS* settled deposits → 沉积, OB* obstacles → 障碍物,
# JO* offset joints → 错口, JS* separated joints → 脱节, JA* angular joints → 起伏, LF* lining → 接口材料脱落).
PACP_EXACT = {"D": "BX", "TBI": "AJ", "TFI": "AJ"}
PACP_EXACT.update({c: "PL" for c in ("CL", "CC", "CS", "CM", "FL", "FC", "FM", "FS", "FH2", "FH3", "B", "H", "HSV",
                                     "HVV", "BSV", "BVV", "XP")})
PACP_PREFIX = (("DA", "JG"), ("DS", "CJ"), ("JO", "CK"), ("JS", "TJ"), ("JA", "QF"), ("LF", "TL"),
               ("OB", "ZW"), ("S", "FS"), ("I", "SL"), ("R", "SG"))


def pacp_to_cjj(code: str | None) -> str | None:
    if not isinstance(code, str):
        return None
    if code in PACP_EXACT:
        return PACP_EXACT[code]
    for prefix, cjj in PACP_PREFIX:
        if code.startswith(prefix):
            return cjj
    return None


def derive(realdata: Path = REALDATA) -> dict:
    """Recompute the calibration figures from the real data (pandas; not used at generation)."""
    import re

    import pandas as pd

    out: dict = {}
    text = (realdata / "chaohu-swmm" / "chaohu.inp").read_text(encoding="utf-8", errors="replace")

    def section(name):
        body = re.search(r"\[" + name + r"\]\n(.*?)(?=\n\[)", text, re.S).group(1)
        return [ln.split() for ln in body.splitlines() if ln.strip() and not ln.startswith(";")]

    lengths = np.array([float(r[3]) for r in section("CONDUITS")])
    shapes = [r[1] for r in section("XSECTIONS")]
    out["segment_length_median_m"] = float(np.median(lengths))
    out["segment_length_p10_p90_m"] = [float(np.percentile(lengths, 10)), float(np.percentile(lengths, 90))]
    out["segment_length_sigma"] = float(np.log(np.percentile(lengths, 90) / np.median(lengths)) / 1.2816)
    out["box_culvert_share"] = shapes.count("RECT_CLOSED") / len(shapes)

    insp = pd.read_csv(realdata / "miamisburg-pacp" / "Inspections_Hazen_Sawyer.csv", low_memory=False)
    cond = pd.read_csv(realdata / "miamisburg-pacp" / "Conditions_Hazen_Sawyer.csv", low_memory=False)
    cond["cjj"] = cond["PACP_Code"].map(pacp_to_cjj)
    cond = cond[~cond["Continuous"].fillna("").str.startswith("F")].dropna(subset=["cjj"])  # F = end of continuous
    group = {"Vitrified Clay Pipe": "CLAY", "Polyvinyl Chloride": "PVC", "Reinforced Concrete Pipe": "RC",
             "Reinforced Plastic Pipe (Truss Pipe)": "TRUSS"}
    insp = insp[insp["Length_Surveyed"] > 0].copy()
    insp["group"] = insp["Material"].map(group).fillna("other")
    counts = cond.groupby("InspectionID").size()
    insp["n"] = insp["InspectionID"].map(counts).fillna(0)
    insp["m"] = insp["Length_Surveyed"] * 0.3048
    per100 = insp.groupby("group").apply(lambda g: 100 * g["n"].sum() / g["m"].sum(), include_groups=False)
    out["defects_per_100m"] = {k: float(v) for k, v in per100.items()}
    out["rate_relative_to_rc"] = {k: float(v / per100["RC"]) for k, v in per100.items()}
    out["share_without_defect"] = float((insp["n"] == 0).mean())
    joined = cond.merge(insp[["InspectionID", "group"]], on="InspectionID")
    out["code_counts"] = {g: {k: int(v) for k, v in s.items()}
                          for g, s in joined.groupby("group")["cjj"].value_counts().unstack(fill_value=0)
                          .iterrows()}

    uci = pd.read_csv(realdata / "uci-wwtp" / "water-treatment.data", na_values="?")
    bod = uci["DBO-E"].dropna()
    out["bod_daily_cv"] = float(bod.std() / bod.mean())
    out["bod_ar1"] = float(uci["DBO-E"].autocorr(1))
    out["cod_per_bod_uci"] = float((uci["DQO-E"] / uci["DBO-E"]).median())
    out["ss_per_bod_uci"] = float((uci["SS-E"] / uci["DBO-E"]).median())
    mel = pd.read_csv(realdata / "melbourne-wwtp" / "Data-Melbourne_F.csv")
    out["cod_per_bod_melbourne"] = float((mel["COD"] / mel["BOD"]).median())
    monthly = mel.groupby("month")["BOD"].mean()
    out["bod_monthly_swing_melbourne"] = float((monthly.max() - monthly.min()) / 2 / monthly.mean())
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(derive(), ensure_ascii=False, indent=1))
