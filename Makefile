# The two commands: `make run` serves the product, `make test` checks it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-unit lint boundaries pytest install clean

# The suite runs on this many pytest-xdist workers, a test module per worker at a time (each worker has its own
# servers, Redis databases and media directory: settings/test.py); PYTEST_WORKERS=0 runs it in one process.
PYTEST_WORKERS ?= 2

# Two pip calls (pip refuses to mix hashed and unhashed lines): the hashed production lock alone with
# --require-hashes, then the dev tools, which leave the already-satisfied production pins in place.
$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python deploy/run_local.py

lint: $(STAMP)
	$(BIN)/ruff check .

boundaries: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/python manage.py check_indexes --embedded

# tests/run.sh installs the Debian packages the tests drive (nginx, chromium, redis-server) when missing and
# allowed, and starts Redis on 127.0.0.1:6379 for the run when nothing answers there.
pytest: $(STAMP)
	bash tests/run.sh $(BIN)/python $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test: lint boundaries pytest

# The unit tier alone (tests/unit: pure logic, no server, seconds); `make test` runs it too, with everything else.
test-unit: $(STAMP)
	$(BIN)/pytest tests/unit -q $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var/ .pytest_cache

.PHONY: bench
bench: $(STAMP)  ## measure throughput/latency/memory against a bare Django view (see docs/performance.md)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/images.py
	$(BIN)/python bench/outcomes.py

.PHONY: lock audit
lock: $(STAMP)  ## re-pin requirements.txt (every package, with hashes) from requirements.in
	$(BIN)/pip-compile --quiet --generate-hashes --no-emit-find-links --no-emit-index-url --strip-extras \
		--allow-unsafe --output-file=requirements.txt requirements.in

audit: $(STAMP)  ## check the production pins against PyPI's vulnerability data (needs network)
	$(BIN)/pip-audit --strict --require-hashes --disable-pip -r requirements.txt
