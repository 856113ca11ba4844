"""Every code the census contract can store for K (地区重要性) and T (土质) has its CJJ 181 factor in the seed.

int_segment_inspections_scored takes ``coalesce(factor_value, 0)``: a census code missing from
``cjj181_factors.csv`` would give K = 0 or T = 0 without any error, lowering RI (and MI) for every such segment.
"""
from __future__ import annotations

import csv

from pipelines.contracts import load_contracts
from pipelines.home import DBT_PROJECT_DIR


def _factors() -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    with (DBT_PROJECT_DIR / "seeds" / "cjj181_factors.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["code"]:
                out.setdefault(row["factor"], {})[row["code"]] = float(row["factor_value"])
    return out


def test_every_area_and_soil_code_of_the_census_contract_has_a_factor():
    pipes = load_contracts()["census_pipes"]
    factors = _factors()
    for column, factor in (("area_importance", "K"), ("soil_type", "T")):
        codes = set(pipes.column(column).values.values())
        assert codes, column
        assert codes - set(factors[factor]) == set(), (column, "codes without a CJJ 181 factor")
    # CJJ 181-2012 §8.3.4: the lowest class of each table is 0 (所有其他区域 / 一般土层)
    assert factors["K"]["other"] == 0 and factors["T"]["general"] == 0
