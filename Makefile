# clientbase — the two commands people and scripts rely on: `make demo` and `make test`.
# Everything else here is a building block of those two.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SIZE ?= M
SEED ?= 42

export CLIENTBASE_DATA_DIR ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: setup demo demo-cdnow test lint test-slow test-browser test-spark dev benchmark clean

# The virtual environment is rebuilt only when pyproject.toml changes.
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

setup: $(BIN)/.installed
	@mkdir -p $(DAGSTER_HOME)
	@test -f $(DAGSTER_HOME)/dagster.yaml || printf 'telemetry:\n  enabled: false\n' > $(DAGSTER_HOME)/dagster.yaml

## Generate the demo retailer (size M, ~50k people), run extraction -> dbt build -> checks ->
## publish, and print a summary.
demo: setup
	$(BIN)/clientbase demo --size $(SIZE) --seed $(SEED)

## The same pipeline on the real CDNOW transactions shipped with the lifetimes package.
demo-cdnow: setup
	$(BIN)/clientbase demo-cdnow

lint: setup
	$(BIN)/ruff check .
	$(BIN)/sqlfluff lint dbt_project --processes 2

## Lint, then the default suite: definitions, unit tests, and one real end-to-end build of the
## size-S demo scored against its hidden truth (about ten minutes on two cores).
## Heavier lanes: `make test-slow` (CDNOW, incremental = full rebuild, a real build under a
## concurrent BI reader), `make test-browser` (Chromium), `make test-spark` (Spark); CI runs all.
test: lint
	$(BIN)/python -m pytest -m "not slow and not browser and not spark" -p no:cacheprovider

test-slow: setup
	$(BIN)/python -m pytest -m "slow and not browser and not spark" -p no:cacheprovider

test-browser: setup
	$(BIN)/python -m pip install --quiet -e ".[dev,browser]"
	$(BIN)/python -m pytest -m browser -p no:cacheprovider

test-spark: setup
	test -x .venv-spark/bin/python || $(PYTHON) -m venv .venv-spark
	.venv-spark/bin/python -m pip install --quiet -e ".[dev,spark]"
	CLIENTBASE_RUN_SPARK=1 .venv-spark/bin/python -m pytest -m spark -p no:cacheprovider

## Start the Dagster UI on the demo warehouse.
dev: setup
	$(BIN)/dagster dev -m orchestration.definitions -h 127.0.0.1 -p 3000

## Benchmarks (not a test): figures as ratios against references measured in the same run.
benchmark: setup
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	$(BIN)/python benchmarks/run.py --size $(SIZE)

clean:
	rm -rf data/landing data/raw data/warehouse.duckdb data/serving data/exports data/reports \
		dbt_project/target dbt_project/logs $(DAGSTER_HOME)
