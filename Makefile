# assetquery — everything a fresh machine needs goes through these targets.
#   make demo   the main job on the embedded sandbox (creates .venv on first use)
#   make test   lint, type-check and the whole test suite
#   make bench  the benchmark suite (options: make bench BENCH_ARGS="-s a d --repeat 9")

SHELL := /bin/bash
VENV  := .venv
BIN   := $(VENV)/bin
# The first interpreter new enough (3.11+) wins; override with `make PYTHON=/path/python3.12`.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	&& { echo $$p; break; }; done)

RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP     := $(VENV)/.dev-installed

.PHONY: demo test lint typecheck pytest bench clean

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is required (none found on PATH)"; exit 2; }
	$(PYTHON) -m venv $(VENV)

$(RUNTIME_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[sandbox,xlsx]'
	@touch $@

$(DEV_STAMP): pyproject.toml examples/vehicle_adapter/pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		-e '.[dev,postgres]' -e examples/vehicle_adapter
	@touch $@ $(RUNTIME_STAMP)

demo: $(RUNTIME_STAMP)
	$(BIN)/assetquery demo

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests examples benchmarks
	$(BIN)/ruff format --check src tests examples benchmarks
	$(BIN)/lint-imports --no-cache

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

pytest: $(DEV_STAMP)
	$(BIN)/pytest -q

test: lint typecheck pytest

# Prints the table and writes bench-results/results.json; see benchmarks/README.md.
BENCH_ARGS ?=
bench: $(DEV_STAMP)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache demo-output
