# Goalpath's commands. `make run` and `make test` are the README's Quick start.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint format bench bench-small bench-roster clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/goalpath db upgrade
	$(BIN)/goalpath demo --if-empty
	@$(BIN)/goalpath sign-in-help --host $(HOST) --port $(PORT)
	$(BIN)/goalpath serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python tools/run_tests.py

# The benchmark on the large district (SQLite unless DATABASE_URL says otherwise).
bench: install
	$(BIN)/python -m bench.run --scale $(or $(SCALE),1) --seconds $(or $(SECONDS),10)

# A few seconds on a tiny district, so the benchmark cannot rot (CI runs it).
bench-small: install
	$(BIN)/python -m bench.run --scale 0.002 --seconds 1 --label ci-small

# The roster import of a generated 100,000-student OneRoster set, timed with its peak
# memory (SQLite unless DATABASE_URL says otherwise; SCALE=0.01 runs in seconds for CI).
bench-roster: install
	$(BIN)/python -m bench.roster --scale $(or $(SCALE),1)

lint: install
	$(BIN)/ruff check src tests tools bench
	$(BIN)/ruff format --check src tests tools bench
	$(BIN)/mypy src

format: install
	$(BIN)/ruff check --fix src tests tools bench
	$(BIN)/ruff format src tests tools bench

clean:
	rm -rf $(VENV) var build src/*.egg-info
