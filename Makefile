# Two commands a new user needs: `make run` and `make test`. Both build .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck unit fuzz chaos conformance bench bench-inventory clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/kms serve $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# Two pytest workers (pytest-xdist), a test file each at a time: the suite waits on servers
# and clients far more than it computes, so two keep a 2-core machine busy. PYTEST_WORKERS=0
# runs it in one process.
PYTEST_WORKERS ?= 2
unit: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test: lint typecheck unit

# The fuzz tests of tests/fuzz with FUZZ_FACTOR (tests/fuzz/conftest.py) times the examples
# `make test` runs; they stop at the first 500 and print the input that caused it.
fuzz: $(STAMP)
	$(BIN)/pytest tests/fuzz --hypothesis-profile=fuzz -x $(PYTEST_ARGS)

# Issue 13's kill -9 and database-restart experiments under ACME load (tests/chaos): a
# PostgreSQL cluster of its own, then SQLite; bounded, loopback only. CHAOS_ARGS, e.g.
# make chaos CHAOS_ARGS="--kills 20".
CHAOS_ARGS ?=
chaos: $(STAMP)
	$(BIN)/python -m tests.chaos $(CHAOS_ARGS)

conformance: $(STAMP)
	$(BIN)/pytest conformance $(PYTEST_ARGS)

# Full ACME issuance flows against a server it starts, then the inventory scenario below;
# see bench/README.md. Options go in BENCH_ARGS, e.g. make bench BENCH_ARGS="--quick --profile".
BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)
	$(BIN)/python -m bench.inventory

# The certificate inventory's list query (console and REST) at 100k certificates, every
# filter timed on SQLite and PostgreSQL against 300 ms; see bench/inventory.py.
bench-inventory: $(STAMP)
	$(BIN)/python -m bench.inventory

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
