"""Mutation trial of the CJJ 181-2012 grade boundaries (issue 15).

Every grade threshold of F, G (I/II at 1, II/III at 3, III/IV at 6), RI, MI (1, 4, 7) and of the defect-density
extents SM, YM (local/partial at 0.1, partial/whole at 0.5) is moved by +0.1 and by -0.1, and the side of each
threshold that includes it is flipped. Each mutant of ``int_segment_inspections_scored.sql`` is run against the
model's dbt unit tests (``_cjj181__unit_tests.yml`` and ``_cjj181_boundaries__unit_tests.yml``); a mutant that no
unit test fails "survives". The trial passes only when every mutant is caught.

A threshold is moved in the model, not in the seed: F and G share the seed's ``condition`` rows, RI and MI its
``index`` rows, so a seed edit could not move F's boundary without moving G's. The model's grade join for one
measure, e.g. ``in_interval('x.structural_f', 'sg.lower_bound', …, 'sg.upper_bound', …)``, gets its bound
replaced by ``(case when sg.lower_bound = 3 then 3.1 else sg.lower_bound end)`` (and the same for the upper
bound), so the neighbouring grades still partition the line. The work happens in a copy of the dbt project in a
temporary directory; the repository is never edited.

Run it (about 4 minutes on two cores)::

    .venv/bin/python -m tests.mutation.grade_boundaries            # every mutant, prints the table
    .venv/bin/python -m tests.mutation.grade_boundaries --only RI  # one measure

It exits 1 when a mutant survives. ``make benchmark`` runs it as ``tests/mutation/test_grade_boundaries.py``.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DBT_DIR = REPO / "dbt_project"
MODEL = "int_segment_inspections_scored"
MODEL_PATH = Path("models") / "intermediate" / f"{MODEL}.sql"
STEP = 0.1

# measure -> (column graded in the model, its thresholds)
MEASURES: dict[str, tuple[str, tuple[float, ...]]] = {
    "F": ("structural_f", (1, 3, 6)),
    "G": ("functional_g", (1, 3, 6)),
    "RI": ("ri", (1, 4, 7)),
    "MI": ("mi", (1, 4, 7)),
    "SM": ("structural_density", (0.1, 0.5)),
    "YM": ("functional_density", (0.1, 0.5)),
}


@dataclass(frozen=True)
class Mutation:
    measure: str
    threshold: float
    kind: str          # "+0.1", "-0.1" or "flip" (the other grade includes the threshold)

    @property
    def name(self) -> str:
        return f"{self.measure} {_num(self.threshold)} {self.kind}"

    def describe(self) -> str:
        if self.kind == "flip":
            return f"{self.measure}: threshold {_num(self.threshold)} belongs to the other grade"
        moved = round(self.threshold + (STEP if self.kind == "+0.1" else -STEP), 6)
        return f"{self.measure}: threshold {_num(self.threshold)} → {_num(moved)}"


@dataclass
class Outcome:
    mutation: Mutation
    caught_by: list[str] = field(default_factory=list)
    error: str | None = None


def _num(value: float) -> str:
    return f"{value:g}"


def mutations(only: set[str] | None = None) -> list[Mutation]:
    out = []
    for measure, (_, thresholds) in MEASURES.items():
        if only and measure not in only:
            continue
        for t in thresholds:
            out += [Mutation(measure, t, "+0.1"), Mutation(measure, t, "-0.1"), Mutation(measure, t, "flip")]
    return out


def _alias(sql: str, column: str) -> str:
    """The alias of the threshold table joined to grade ``column`` (``sg`` for structural_f, …)."""
    found = re.findall(r"in_interval\(\s*'x\.%s'\s*,\s*'(\w+)\.lower_bound'" % re.escape(column), sql)
    if len(found) != 1:
        raise ValueError(f"{MODEL}.sql: expected one grade join on x.{column}, found {len(found)}; "
                         "update tests/mutation/grade_boundaries.py to the model")
    return found[0]


def apply(sql: str, mutation: Mutation) -> str:
    """The model text with ``mutation`` applied; raises when the model no longer has the expected shape."""
    column, _ = MEASURES[mutation.measure]
    a = _alias(sql, column)
    t = _num(mutation.threshold)
    if mutation.kind == "flip":
        swaps = {
            f"'{a}.lower_inclusive'": f"'(case when {a}.lower_bound = {t} then not {a}.lower_inclusive "
                                      f"else {a}.lower_inclusive end)'",
            f"'{a}.upper_inclusive'": f"'(case when {a}.upper_bound = {t} then not {a}.upper_inclusive "
                                      f"else {a}.upper_inclusive end)'",
        }
    else:
        moved = _num(round(mutation.threshold + (STEP if mutation.kind == "+0.1" else -STEP), 6))
        swaps = {f"'{a}.{side}'": f"'(case when {a}.{side} = {t} then {moved} else {a}.{side} end)'"
                 for side in ("lower_bound", "upper_bound")}
    out = sql
    for old, new in swaps.items():
        if out.count(old) != 1:
            raise ValueError(f"{MODEL}.sql: {old} occurs {out.count(old)} times, expected once")
        out = out.replace(old, new)
    return out


# ------------------------------------------------------------------------------------------------------
# dbt in a scratch copy of the project
# ------------------------------------------------------------------------------------------------------
# measure -> the column holding its grade (or extent): a unit test that expects this column can catch the mutant
GRADE_COLUMNS = {"F": "structural_grade", "G": "functional_grade", "RI": "ri_grade", "MI": "mi_grade",
                 "SM": "structural_extent", "YM": "functional_extent"}


def unit_tests_by_measure(project: Path = DBT_DIR) -> dict[str, list[str]]:
    """The model's unit tests that expect each measure's grade column (read from the YAML, so a new test counts)."""
    import yaml

    out: dict[str, list[str]] = {m: [] for m in MEASURES}
    for path in sorted((project / "models").rglob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for test in doc.get("unit_tests", []):
            if test["model"] != MODEL:
                continue
            columns = {c for row in test["expect"].get("rows", []) for c in row}
            for measure, column in GRADE_COLUMNS.items():
                if column in columns:
                    out[measure].append(test["name"])
    return out


class Scratch:
    """A copy of the dbt project (and the reference seeds it reads) over the hand-made fixture warehouse; dbt runs
    in this process (dbtRunner), so each mutant costs a partial parse and its unit tests, not a dbt start-up."""

    def __init__(self, root: Path):
        from dbt.cli.main import dbtRunner

        from tests.fixtures import raw_warehouse

        self.root = root
        self.project = root / "dbt_project"
        ignore = shutil.ignore_patterns("target", "logs", ".user.yml")
        shutil.copytree(DBT_DIR, self.project, symlinks=True, ignore=ignore)
        shutil.copytree(REPO / "sources" / "reference", root / "sources" / "reference")
        self.model = self.project / MODEL_PATH
        self.original = self.model.read_text(encoding="utf-8")
        self.warehouse = raw_warehouse.build(root / "warehouse.duckdb")
        os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
        self.runner = dbtRunner()
        # unit tests read the column types of their inputs from the warehouse: build the model's ancestors once
        self.dbt("seed")
        self.dbt("run", "--select", f"+{MODEL}")

    def dbt(self, *args: str):
        here = Path.cwd()
        os.chdir(self.project)      # dbt resolves the project (and ../sources/reference) from the cwd
        try:
            res = self.runner.invoke([*args, "--profiles-dir", str(self.project), "--log-level", "none",
                                      "--vars", json.dumps({"warehouse_path": str(self.warehouse)})])
        finally:
            os.chdir(here)
        if res.exception is not None or (args[0] != "test" and not res.success):
            raise RuntimeError(f"dbt {' '.join(args)} failed: {res.exception or res.result}")
        return res

    def unit_tests(self, sql: str, names: list[str] | None = None) -> tuple[set[str], set[str]]:
        """Run unit tests (``names``, or all of the model's) on the model text ``sql``: (passed, failed)."""
        self.model.write_text(sql, encoding="utf-8")
        try:
            res = self.dbt("test", "--select", *(names or [f"{MODEL},test_type:unit"]))
        finally:
            self.model.write_text(self.original, encoding="utf-8")
        passed, failed, errors = set(), set(), set()
        for r in res.result.results:
            # "error" (the mutant does not compile or run) is not a catch: only a failed comparison is
            {"pass": passed, "fail": failed}.get(str(r.status), errors).add(r.node.name)
        if errors:
            raise RuntimeError(f"unit tests errored (not failed): {sorted(errors)}: "
                               + "; ".join(str(r.message) for r in res.result.results if r.node.name in errors))
        return passed, failed


def run(only: set[str] | None = None, log=print) -> list[Outcome]:
    """The whole trial: the baseline must pass, then every mutant is tried."""
    with tempfile.TemporaryDirectory(prefix="sewershare-mutation-") as tmp:
        started = time.monotonic()
        scratch = Scratch(Path(tmp))
        passed, failed = scratch.unit_tests(scratch.original)
        if failed or not passed:
            raise RuntimeError(f"baseline: unit tests fail before any mutation: {sorted(failed)}")
        log(f"baseline: {len(passed)} unit tests of {MODEL} pass ({time.monotonic() - started:.0f} s)")
        relevant = unit_tests_by_measure(scratch.project)
        outcomes = []
        for mutation in mutations(only):
            outcome = Outcome(mutation)
            try:
                mutant = apply(scratch.original, mutation)
            except ValueError as exc:
                outcome.error = str(exc)
            else:
                try:
                    _, failed = scratch.unit_tests(mutant, relevant[mutation.measure])
                    outcome.caught_by = sorted(failed)
                except RuntimeError as exc:
                    outcome.error = str(exc)[:500]
            log(f"{mutation.name:<14} {'caught by ' + ', '.join(outcome.caught_by) if outcome.caught_by else 'SURVIVED'}")
            outcomes.append(outcome)
        return outcomes


def table(outcomes: list[Outcome]) -> str:
    lines = ["| mutation | caught by |", "|---|---|"]
    for o in outcomes:
        verdict = ", ".join(f"`{n}`" for n in o.caught_by) if o.caught_by else (
            f"**not applied**: {o.error}" if o.error else "**survived**")
        lines.append(f"| {o.mutation.describe()} | {verdict} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", choices=sorted(MEASURES),
                        help="only this measure (repeatable)")
    args = parser.parse_args(argv)
    outcomes = run(set(args.only) if args.only else None)
    print()
    print(table(outcomes))
    survivors = [o for o in outcomes if not o.caught_by]
    print(f"\n{len(outcomes) - len(survivors)} of {len(outcomes)} mutants caught")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
