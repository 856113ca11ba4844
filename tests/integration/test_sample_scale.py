"""Scale 1 (one city-year): time, peak memory, volumes. Slow: run with ``make benchmark`` or
``pytest -m slow tests/integration/test_sample_scale.py -s``."""
import json
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import sample_oracle as verify

REPO = Path(__file__).resolve().parents[2]
SCRIPT = """
import json, resource, sys, time
from pathlib import Path
from pipelines.sample import generate
t = time.perf_counter()
truth = generate(Path(sys.argv[1]), scale=float(sys.argv[2]), seed=42, progress=False)
print(json.dumps({"seconds": time.perf_counter() - t,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rows": truth["stats"]["data_rows"], "files": len(truth["files"])}))
"""


def run(home: Path, scale: float) -> dict:
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(home), str(scale)], cwd=REPO, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_scale_one_is_a_city_year_in_minutes_with_flat_memory(tmp_path, record_property):
    quarter = run(tmp_path / "q", 0.25)
    start = time.perf_counter()
    full = run(tmp_path / "full", 1.0)
    wall = time.perf_counter() - start
    print(f"\nscale 0.25: {quarter['seconds']:.1f} s, peak RSS {quarter['peak_rss_mb']:.0f} MB"
          f"\nscale 1   : {full['seconds']:.1f} s ({wall:.1f} s with start-up), peak RSS {full['peak_rss_mb']:.0f} MB"
          f"\nrows: {json.dumps(full['rows'])}")
    for key in ("seconds", "peak_rss_mb"):
        record_property(f"scale_1_{key}", round(full[key], 1))
        record_property(f"scale_0.25_{key}", round(quarter[key], 1))

    rows = full["rows"]
    assert 115_000 <= rows["census_pipes"] <= 125_000
    assert 115_000 <= rows["census_manholes"] <= 125_000
    assert 200_000 <= rows["inspections"] <= 300_000
    assert 19_000 <= rows["drainage_permits"] <= 21_000
    assert 2_800 <= rows["discharge_permits"] <= 3_200
    assert 9_500 <= rows["enforcement"] <= 10_500
    assert 1_900 <= rows["upgrade_projects"] <= 2_100
    assert rows["plants"] == 40
    assert rows["plant_online"] >= 40 * 2 * (365 * 24 + 365)      # a year of hourly + daily packets, both points
    assert wall < 600, "a few minutes on two cores"
    # memory is bounded by a district / a plant-month, not by the scale
    assert full["peak_rss_mb"] < 1024
    assert full["peak_rss_mb"] < 1.6 * quarter["peak_rss_mb"]

    # the truth holds at scale too: check a random handful of files of every feed row by row
    truth = json.loads((tmp_path / "full" / "sample_truth.json").read_text(encoding="utf-8"))
    rng = random.Random(1)
    by_feed: dict[str, list] = {}
    for ft in truth["files"]:
        by_feed.setdefault(ft["feed"], []).append(ft)
    for feed, files in by_feed.items():
        for ft in rng.sample(files, min(3, len(files))):
            assert verify.verify_file(tmp_path / "full", ft) == [], ft["path"]
