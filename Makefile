# caseflow: `make run` starts everything, `make test` runs every test. Both set themselves up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PG_BIN := $(shell pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)

.PHONY: run test lint replay bench clean postgres chromium pdf screenshots bytecode

$(BIN)/python:
	@echo "creating $(VENV) (the first run then installs caseflow and its dependencies: a minute or two)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	@echo "installing caseflow and its dependencies into $(VENV) (pip, quietly: about a minute)"
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	@echo "installing caseflow, its dependencies and the test tools into $(VENV) (pip, quietly: a minute or two)"
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed-run

## run: migrate + demo data, then Temporal dev server (UI), worker and API; Ctrl-C stops all
run: $(VENV)/.installed-run pdf bytecode
	$(BIN)/caseflow dev

## bytecode: compile caseflow once (the workflow sandbox imports the workflow modules afresh
## for every case, and a machine with PYTHONDONTWRITEBYTECODE would compile them each time)
bytecode: | $(BIN)/python
	@$(BIN)/python -m compileall -q caseflow

## test: lint (ruff, the import contract), then every test (unit, time-skipping workflows, API on PostgreSQL, replay, e2e)
test: $(VENV)/.installed-test postgres chromium pdf bytecode
	$(BIN)/ruff check caseflow tests bench
	$(BIN)/lint-imports --no-logo
	$(BIN)/pytest -n auto --dist loadfile

## postgres: the tests start their own PostgreSQL cluster; install the server if it is missing
postgres:
	@if [ ! -x "$(PG_BIN)/initdb" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "installing PostgreSQL server binaries"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	fi

## chromium: the console's browser tests drive Debian's chromium (Playwright downloads no
## browser); a CJK font so screenshots show Chinese
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "installing chromium"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null; \
	fi

## pdf: WeasyPrint renders the reports' PDFs with Pango, in a CJK font from Debian; install
## them if missing
pdf:
	@if ! ldconfig -p | grep -q 'libpangoft2-1.0.so.0' || ! fc-list 2>/dev/null | grep -qiE 'WenQuanYi|Noto Sans CJK'; then \
		echo "installing Pango and a CJK font for PDF reports"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 fontconfig fonts-wqy-zenhei >/dev/null; \
	fi

## screenshots: docs/console/*.png, each page of the console on a fresh `caseflow dev` stack
screenshots: $(VENV)/.installed-test chromium
	$(BIN)/python -m tests.console_screenshots

## lint: ruff, and the import contract of the layers (pyproject.toml [tool.importlinter])
lint: $(VENV)/.installed-test
	$(BIN)/ruff check caseflow tests bench
	$(BIN)/lint-imports --no-logo

## replay: replay the saved histories in tests/histories against today's workflow code
replay: $(VENV)/.installed-run
	$(BIN)/caseflow replay tests/histories

## bench: every benchmark (about 15 minutes on 2 cores); tables to bench/results/ and
## docs/performance.md. One at a time, any size: caseflow bench --help
bench: $(VENV)/.installed-run postgres bytecode
	$(BIN)/caseflow bench all

clean:
	rm -rf .data
