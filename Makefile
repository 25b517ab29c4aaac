# The two commands: `make run` serves the product, `make test` checks it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint boundaries pytest install clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python deploy/run_local.py

lint: $(STAMP)
	$(BIN)/ruff check .

boundaries: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest

test: lint boundaries pytest

clean:
	rm -rf $(VENV) var/ .pytest_cache

.PHONY: bench
bench: $(STAMP)  ## measure throughput/latency/memory against a bare Django view (see docs/performance.md)
	$(BIN)/python bench/run.py
