# Carnet — `make help` lists the targets.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# Test processes: pytest-xdist workers, each with its own databases (tests/conftest.py); an idle
# worker steals queued tests from a busy one, so the run does not end waiting on one long tail.
TEST_WORKERS ?= auto
# Python compiles every module it imports from source when PYTHONDONTWRITEBYTECODE is set (some
# machines set it, CI's among them): ~2 s of CPU per process, for pytest's workers and for every
# `carnet serve` or `carnet worker` a test starts. The commands here let it keep its .pyc files.
unexport PYTHONDONTWRITEBYTECODE

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-10s %s\n", $$1, $$2}'

# uv lives inside .venv, so a machine with only Python 3.11+, git and make can run everything.
$(BIN)/uv:
	python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv

$(VENV)/.installed: pyproject.toml uv.lock | $(BIN)/uv
	$(BIN)/uv sync --inexact --extra dev --python $(BIN)/python
	@touch $@

.PHONY: install
install: $(VENV)/.installed ## create .venv with the project and its dev extras

.PHONY: run
run: install ## migrate, load demo data into an empty database, serve on http://127.0.0.1:$(PORT)
	@mkdir -p var
	export CARNET_DEBUG=$${CARNET_DEBUG:-1}; \
	$(BIN)/carnet db upgrade && \
	$(BIN)/carnet demo-data --if-empty && \
	$(BIN)/carnet serve --port $(PORT)

.PHONY: test
test: install ## the whole suite (PostgreSQL and Redis too when CARNET_TEST_DATABASE_URL / CARNET_TEST_REDIS_URL are set)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

.PHONY: lint
lint: install ## ruff check, ruff format --check, mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy portal catalog participants wallet booking

.PHONY: format
format: install ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

.PHONY: bench
bench: install ## benchmarks on PostgreSQL (CARNET_BENCH_DATABASE_URL, default the local carnet_bench database)
	$(BIN)/python -m loadtests.bench

.PHONY: clean
clean: ## remove .venv and caches (keeps ./var, the embedded database)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
