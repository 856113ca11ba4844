# The two commands of the README: `make run` (set up + run the main job on the sample)
# and `make test` (set up + run the tests). Everything else is a helper of those.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
HOME_DIR ?= $(or $(SEWERSHARE_HOME),./data)
SCALE ?= 0.01
SEED ?= 42

.PHONY: setup run test sample dagster docs benchmark crash-trials clean

$(VENV)/.installed: requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "需要 Python 3.11 (python3.11 not found; set PYTHON=...)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(VENV)/bin/sewershare setup
	touch $@

setup: $(VENV)/.installed

## Main command: set up, then run the whole job on the built-in sample (generated when landing/ is empty).
run: setup
	$(VENV)/bin/sewershare run --home $(HOME_DIR) $(if $(filter ./data,$(HOME_DIR)),--sample,) --sample-scale $(SCALE) --sample-seed $(SEED)

## Test command: set up, then run the test suite (CI calls exactly this).
test: setup
	scripts/ensure_chromium.sh
	$(PY) -m pytest -n 2 -q

sample: setup
	$(VENV)/bin/sewershare sample --home $(HOME_DIR) --scale $(SCALE) --seed $(SEED)

## Dagster UI + daemon on the persistent instance of HOME_DIR (HOME_DIR/dagster): the runs of `make run` show.
dagster: setup
	$(VENV)/bin/sewershare dagster --home $(abspath $(HOME_DIR)) --port $(or $(PORT),3000)

## dbt docs (data dictionary) for the warehouse of HOME_DIR, written to dbt_project/target/
docs: setup
	cd dbt_project && ../$(VENV)/bin/dbt docs generate --profiles-dir . \
	  --vars '{"warehouse_path": "$(abspath $(HOME_DIR))/warehouse/sewershare.duckdb"}'

## Benchmark (issue 13): ingest vs DuckDB alone vs pandas + GE, full runs per stage, scales, one new day →
## docs/benchmark.md (`sewershare bench --help` for a subset); then the slow tests.
benchmark: setup
	$(VENV)/bin/sewershare bench --workdir $(or $(BENCH_DIR),/tmp/sewershare-bench)
	$(PY) -m pytest -m slow -q -p no:xdist

## kill -9 harness (issue 14): TRIALS runs killed at stages taken in turn, each rerun once and compared with a
## clean run (docs/reliability.md). Not part of `make test`: each trial is two real runs.
crash-trials: setup
	$(PY) -m pipelines.bench.crash_trials --trials $(or $(TRIALS),20) $(if $(STAGES),--stages $(STAGES),)

clean:
	rm -rf $(VENV) dbt_project/target dbt_project/logs
