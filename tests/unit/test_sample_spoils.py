"""The sample's invalid values are written by hand, independently of the contracts (issue 15).

The generator's out-of-range values and bad labels (pipelines/sample/mess.py ``OUT_OF_RANGE``, ``BAD_LABELS``)
come from what the fields mean, not from ``sources/*.yml``. Here every one must be rejected by the contracts:
a range that admits a 45 km pipe segment or a 1970 inspection, or a value map that accepts 污水管道 as a pipe
category, fails this test (and the sample's quarantine-against-truth test, which runs them through the loader).
"""
from __future__ import annotations

import datetime as dt

import pytest

from pipelines import duck
from pipelines.contracts import load_contracts
from pipelines.ingest import normalise
from pipelines.ingest.schema import enum_is_integer
from pipelines.sample import mess


def _columns(name: str, kinds: tuple[str, ...]):
    found = [(c.feed, col) for c in load_contracts().values() for col in c.columns
             if col.name == name and col.type in kinds]
    assert found, f"{name}: no contract has such a column; remove it from pipelines/sample/mess.py"
    return found


@pytest.mark.parametrize("name", sorted(mess.OUT_OF_RANGE))
def test_every_hand_written_out_of_range_value_is_outside_the_contract_range(name):
    # the generator range-spoils the columns of this name that declare a range (a column without one cannot
    # get a range spoil; enforcement.inspected_on is such a column)
    ranged = [(feed, col) for feed, col in _columns(name, ("decimal", "integer", "year", "date", "pipe_size"))
              if col.range is not None]
    assert ranged, f"{name}: no contract gives it a range, so the loader would keep every value"
    for feed, col in ranged:
        lo, hi = col.range
        if col.type == "date":
            lo, hi = dt.date.fromisoformat(str(lo)), dt.date.fromisoformat(str(hi))
        for value in mess.OUT_OF_RANGE[name]:
            assert not lo <= value <= hi, f"{feed}.{name} accepts {value!r} (range {col.range})"


@pytest.fixture(scope="module")
def con():
    con = duck.connect(extensions=())
    normalise.install(con)
    yield con
    con.close()


@pytest.mark.parametrize("name", sorted(mess.BAD_LABELS))
def test_every_hand_written_bad_label_is_rejected_by_the_contract(con, name):
    """Through the loader's own label mapping (clean, case- and space-insensitive lookup)."""
    for feed, col in _columns(name, ("enum",)):
        # the label is bound once and read by name: the mapping reads its value several times (the label rules)
        mapped = normalise.enum_sql("ss_clean(label)", col.values, enum_is_integer(col))
        for label in mess.BAD_LABELS[name]:
            assert con.execute(f"SELECT {mapped} FROM (SELECT ?::VARCHAR AS label)", [label]).fetchone()[0] is None, \
                f"{feed}.{name} maps the bad label {label!r}: pick another one in pipelines/sample/mess.py"


def test_the_hand_written_values_are_not_read_from_the_contracts():
    """A tripwire against the old circular design: mess.py builds no value from a contract's range or values."""
    import inspect

    source = inspect.getsource(mess)
    assert "col.range" not in source and ".range" not in source.split("# Spoil factories")[0]
    assert "col.values" not in source
