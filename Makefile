# btc-signals — one command to run, one to test. Both bootstrap .venv with uv (installed from PyPI if missing).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
UV := $(shell command -v uv 2>/dev/null || echo .uv-bootstrap/bin/uv)
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export GX_ANALYTICS_ENABLED := false
DATE ?=

.PHONY: setup run show test dev parse bench bench-postgres bench-partitions clean

.uv-bootstrap/bin/uv:
	$(PYTHON) -m venv .uv-bootstrap
	.uv-bootstrap/bin/python -m pip install --quiet --disable-pip-version-check uv==0.13.8

$(BIN)/btc-signals: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode --extra dev --python $(PYTHON)
	@touch $@

$(DAGSTER_HOME)/dagster.yaml: | $(BIN)/btc-signals
	@$(BIN)/python -c 'from pipelines.cli import prepare_environment; prepare_environment()'

setup: $(BIN)/btc-signals $(DAGSTER_HOME)/dagster.yaml
	@$(BIN)/btc-signals parse

## Materialise every asset over the whole bundled window, run all checks, print the dashboard (DATE=YYYY-MM-DD for another day).
run: setup
	$(BIN)/btc-signals run
	$(BIN)/btc-signals show $(if $(DATE),--date $(DATE),)

show:
	$(BIN)/btc-signals show $(if $(DATE),--date $(DATE),)

## The test suite, on every core (pytest-xdist: a test file at a time per worker, each worker with its own warehouse;
## the files that read the replay warehouse on one worker, which builds it once: tests/conftest.py).
TEST_WORKERS ?= auto
test: setup
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder

## The Dagster UI (webserver + daemon, so schedules run) on http://127.0.0.1:3000
dev: setup
	$(BIN)/dagster dev -h 127.0.0.1 -p 3000 -w workspace.yaml

## Benchmark on the bundled data (prints key=value figures; see docs/operations.md, Performance).
bench: setup
	$(BIN)/python scripts/bench.py

## The same on the production instance (deploy/dagster.postgres.yaml) on a throw-away PostgreSQL cluster.
bench-postgres: setup
	$(BIN)/python scripts/bench.py --instance postgres

## What Dagster's bookkeeping costs per partitioning and instance (docs/operations.md, Performance).
bench-partitions: setup
	$(BIN)/python scripts/bench_partitions.py

clean:
	rm -rf $(VENV) .uv-bootstrap dbt_project/target dbt_project/logs .dagster_home warehouse/*.duckdb
