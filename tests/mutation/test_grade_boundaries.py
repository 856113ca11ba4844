"""The CJJ 181 grade-boundary mutation trial (tests/mutation/grade_boundaries.py) as tests.

The fast test keeps the script in step with the model (every mutant still applies, every measure has unit tests
that can catch it); the slow one runs the trial (``make benchmark``)."""
from __future__ import annotations

import pytest

from tests.mutation import grade_boundaries as gb


def test_every_mutant_applies_to_the_model_and_has_unit_tests_that_can_catch_it():
    sql = (gb.DBT_DIR / gb.MODEL_PATH).read_text(encoding="utf-8")
    mutants = gb.mutations()
    # F, G, RI, MI: 3 thresholds each; SM, YM: 2 each; moved up, moved down, inclusive side flipped
    assert len(mutants) == (4 * 3 + 2 * 2) * 3
    for mutation in mutants:
        mutant = gb.apply(sql, mutation)
        assert mutant != sql, mutation.name
        assert mutant.count("case when") == sql.count("case when") + 2, mutation.name
    relevant = gb.unit_tests_by_measure()
    assert set(relevant) == set(gb.MEASURES)
    for measure, names in relevant.items():
        assert any("boundar" in n for n in names), (measure, names)


def test_apply_refuses_a_model_it_does_not_recognise():
    with pytest.raises(ValueError, match="grade join"):
        gb.apply("select 1 as structural_f", gb.Mutation("F", 3, "+0.1"))


@pytest.mark.slow
def test_every_grade_boundary_mutant_is_caught_by_a_unit_test():
    outcomes = gb.run(log=lambda line: None)
    assert len(outcomes) == len(gb.mutations())
    survivors = [o.mutation.describe() + (f" ({o.error})" if o.error else "") for o in outcomes if not o.caught_by]
    assert survivors == [], "\n" + gb.table(outcomes)
