# Newsroom: `make run` to try it, `make test` to check it. Everything installs into .venv.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
SEED ?= fixtures/briefing.txt

.PHONY: run test lint format check ci install clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Newsroom needs $(PYTHON) (Python 3.11+); set PYTHON=... to use another"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: export DEBUG ?= 1
run: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py import_briefing $(SEED)
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py ensure_demo_editor
	@echo "Serving http://$(HOST):$(PORT)/  (Ctrl-C to stop)"
	$(PY) manage.py runserver $(HOST):$(PORT)

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

check: export DEBUG ?= 1
check: $(STAMP)
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

ci: lint check test

clean:
	rm -rf $(VENV) var .pytest_cache
