# assetquery — everything a fresh machine needs goes through these targets.
#   make demo   the main job on the embedded sandbox (creates .venv on first use)
#   make test   lint, type-check and the whole test suite
#   make docs   the documentation site, into site/ (warnings are errors)
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

.PHONY: demo test test-latest lint typecheck docs pytest durability bench clean

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

# Three workers on PostgreSQL killed at random for minutes (CI runs it after `make test`).
durability: $(DEV_STAMP)
	$(BIN)/pytest -q -m durability

# The site from docs/ and the public modules' docstrings; a broken link, a page left out
# of the nav or a docstring mkdocstrings cannot read fails the build (and so make test).
docs: $(DEV_STAMP)
	$(BIN)/mkdocs build --strict --quiet

test: lint typecheck docs pytest

# The tests against the newest httpx, httpx-aiohttp, aiohttp and pydantic, whatever
# pyproject pins: _internals.py leans on their private attributes, so a change upstream shows
# here (run it on a schedule) before a court meets it. Its own venv: .venv stays as pinned.
LATEST := .venv-latest
test-latest:
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is required (none found on PATH)"; exit 2; }
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install --quiet --disable-pip-version-check \
		-e '.[dev,postgres]' -e examples/vehicle_adapter
	$(LATEST)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade \
		httpx httpx-aiohttp aiohttp pydantic pydantic-settings 2>&1 | grep -v "dependency resolver" || true
	@$(LATEST)/bin/python -c 'import importlib.metadata as m; \
		print("testing against", ", ".join(f"{p} {m.version(p)}" for p in \
		("httpx", "httpx-aiohttp", "aiohttp", "pydantic", "pydantic-settings")))'
	$(LATEST)/bin/pytest -q -p no:cacheprovider

# Prints the table and writes bench-results/results.json; see benchmarks/README.md.
BENCH_ARGS ?=
bench: $(DEV_STAMP)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(LATEST) site .mypy_cache .pytest_cache .ruff_cache demo-output
