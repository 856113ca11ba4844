"""Point 6 of issue 11, measured (``make benchmark``): one new day of files against a full refresh at scale 1,
end to end with publication, each a real ``sewershare run`` process (pipelines/bench/new_day.py)."""
from __future__ import annotations

import json

import pytest

from pipelines.bench.new_day import TARGET_RATIO, measure_new_day


@pytest.mark.slow
def test_a_new_day_costs_at_most_five_percent_of_a_full_refresh(tmp_path):
    figures = measure_new_day(scale=1.0, workdir=tmp_path)
    print("\n" + json.dumps(figures, ensure_ascii=False, indent=1))
    # CPU time: what the runs cost, whatever else the machine is doing at the time (wall time is printed too)
    assert figures["ratio_cpu"] <= TARGET_RATIO, figures
