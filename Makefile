# Newsroom: `make run` to try it, `make test` to check it. Everything installs into .venv.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
SEED ?= fixtures/briefing.txt

CHROMIUM ?= /usr/bin/chromium
AXE := e2e/node_modules/axe-core/axe.min.js
LIGHTHOUSE := e2e/node_modules/lighthouse/cli/index.js

.PHONY: run serve serve-cache varnish bench bench-scale soak soak-cache audit audit-ci test test-varnish test-slow test-browser docs-screenshots lint format check ci install clean backup restore

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Newsroom needs $(PYTHON) (Python 3.11+); set PYTHON=... to use another"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Local settings for commands run by hand in this checkout (git-ignored, owner-only):
# DEBUG on and a generated SECRET_KEY. Written once; settings read it unless the
# environment says otherwise. Production has none.
.env:
	@umask 077 && printf '# Written by `make run` for local work; never used in production.\nDEBUG=1\nSECRET_KEY=%s\n' \
		"$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')" > .env
	@echo "Wrote .env (DEBUG=1 and a generated SECRET_KEY) for local manage.py commands"

run: export DEBUG ?= 1
# The API's canonical links and feed ids name the site's address: here, the one it serves.
run: export SITE_DOMAIN ?= $(HOST):$(PORT)
run: $(STAMP) .env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py import_briefing $(SEED)
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py ensure_demo_editor --site-url http://$(HOST):$(PORT)/
	@echo "Serving http://$(HOST):$(PORT)/ and running the webhook worker  (Ctrl-C to stop both)"
	PY=$(PY) scripts/with-worker $(PY) manage.py runserver $(HOST):$(PORT)

# Production-like local serving: gunicorn (WEB_CONCURRENCY workers, default 2), DEBUG off,
# static files hashed and compressed by WhiteNoise. Plain http on 127.0.0.1 unless HTTPS=1.
serve: export DEBUG := 0
serve: export HOST := $(HOST)
serve: export PORT := $(PORT)
# Production-like: the local .env (DEBUG=1) is not read.
serve: export NEWSROOM_ENV_FILE :=
serve: $(STAMP)
	@mkdir -p -m 700 var && chmod 700 var
	@test -n "$$SECRET_KEY" || test -s var/secret-key || (umask 077 && $(PY) -c "import secrets; print(secrets.token_urlsafe(50))" > var/secret-key)
	@test ! -e var/secret-key || chmod 600 var/secret-key
	SECRET_KEY="$${SECRET_KEY:-$$(cat var/secret-key)}" $(PY) manage.py migrate --noinput
	SECRET_KEY="$${SECRET_KEY:-$$(cat var/secret-key)}" $(PY) manage.py collectstatic --noinput --verbosity 0
	@echo "Serving http://$(HOST):$(PORT)/ with gunicorn, $${WEB_CONCURRENCY:-2} workers, and the webhook worker (Ctrl-C to stop)"
	SECRET_KEY="$${SECRET_KEY:-$$(cat var/secret-key)}" PY=$(PY) scripts/with-worker $(VENV)/bin/gunicorn newsroom.wsgi -c newsroom/gunicorn.conf.py

# `make serve` behind Varnish (deploy/varnish.vcl, docs/caching.md): Varnish on PORT, gunicorn
# on APP_PORT (default PORT+1), both on 127.0.0.1. Readers' pages are shared by Varnish and
# purged by surrogate key after every edit, through the worker. Installs Debian's varnish and
# varnish-modules (the xkey vmod) if missing. Pages may stay in Varnish CDN_CACHE_SECONDS
# (default here an hour: edits purge them, and go-lives cap it).
APP_PORT ?= $(shell expr $(PORT) + 1)
serve-cache: export CDN_CACHE_SECONDS ?= 3600
serve-cache: $(STAMP) varnish
	@echo "Varnish on http://$(HOST):$(PORT)/ in front of gunicorn on $(HOST):$(APP_PORT)"
	PORT=$(PORT) APP_PORT=$(APP_PORT) BEHIND_PROXY=1 FRONTEND_CACHE_VARNISH_URL=http://127.0.0.1:$(PORT) \
		scripts/with-varnish $(MAKE) --no-print-directory serve HOST=127.0.0.1 PORT=$(APP_PORT)

varnish:
	@{ PATH="$$PATH:/usr/sbin" command -v varnishd >/dev/null 2>&1 && dpkg -s varnish-modules >/dev/null 2>&1; } || { \
		echo "Installing varnish and varnish-modules (xkey) from Debian's packages"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq varnish varnish-modules >/dev/null; } \
			|| { echo "Could not install Varnish: apt-get install -y varnish varnish-modules"; exit 1; }; }
	@# Debian starts its own varnishd on port 6081; ours is started by scripts/with-varnish.

# Benchmark (not part of `make test`): builds its own database under bench/work/.
bench: $(STAMP)
	@for tool in wrk nginx; do command -v $$tool >/dev/null 2>&1 || PATH="$$PATH:/usr/sbin" command -v $$tool >/dev/null 2>&1 || { \
		echo "Installing $$tool from Debian's packages (the load generator and the nginx reference)"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$tool >/dev/null; } \
			|| { echo "Could not install $$tool: apt-get install -y $$tool"; exit 1; }; }; done
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	$(PY) bench/run.py $(BENCH_ARGS)
	$(MAKE) --no-print-directory soak

# At a national newsroom's scale (not part of `make test` or CI, about ten minutes on two
# quiet cores): 10,000 and 1,000,000 stories built through the importer in PostgreSQL databases
# of their own (<name>_scale_10k, <name>_scale_1m, named after DATABASE_URL's database,
# default postgres://postgres@127.0.0.1:5432/newsroom); writes bench/SCALE.md from that one
# run. Its log (progress and time left every 30 s) also goes to bench/work/scale/run.log:
# `tail -f` it. SCALE_ARGS="--resume" measures already-built databases again;
# SCALE_ARGS="--stories 30000 --small 3000 --output /tmp/SCALE.md" is a quick trial.
bench-scale: $(STAMP)
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	$(PY) bench/scale.py $(SCALE_ARGS)

# 60 s of readers against gunicorn while an editor publishes and edits; fails on any 5xx or
# lost edit. Writes only its own "## Soak" section of bench/RESULTS.md.
soak: $(STAMP)
	$(PY) bench/soak.py $(SOAK_ARGS)

# The soak with Varnish in front (deploy/varnish.vcl): readers through Varnish, purged on edit.
soak-cache: $(STAMP) varnish
	$(PY) bench/soak.py --through-varnish $(SOAK_ARGS)

# axe-core for the accessibility checks and Lighthouse for `make audit`, from
# e2e/package-lock.json (needs npm).
$(AXE) $(LIGHTHOUSE) &: e2e/package.json e2e/package-lock.json
	cd e2e && npm ci --no-audit --no-fund
	touch $(AXE) $(LIGHTHOUSE)

# Lighthouse (pinned in e2e/) on home, section, tag, byline, story and search, phone and
# desktop, against Debian's Chromium and a gunicorn it starts on a free port with a newsroom
# of its own (bench/work/audit/). Writes bench/AUDIT.md; reports, never fails.
audit: $(STAMP) $(LIGHTHOUSE)
	CHROME_PATH=$(CHROMIUM) $(PY) bench/audit.py $(AUDIT_ARGS)

# The same for CI: fails when accessibility or best practices fall below 100, or SEO on an
# indexable page; performance is reported only (shared machines). Leaves bench/AUDIT.md alone.
audit-ci: $(STAMP) $(LIGHTHOUSE)
	CHROME_PATH=$(CHROMIUM) $(PY) bench/audit.py --assert --output bench/work/AUDIT.md $(AUDIT_ARGS)

# Runs the browser tests too when Chromium is there (and axe-core, fetched here if npm is),
# and says so loudly when it is not.
test: $(STAMP)
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory $(AXE) || echo "NOTE: could not install axe-core: the accessibility checks will be SKIPPED"; fi
	@test -x $(CHROMIUM) || echo "NOTE: $(CHROMIUM) not found: the browser tests will be SKIPPED (apt-get install chromium)"
	NEWSROOM_CHROMIUM=$(CHROMIUM) $(PY) -m pytest $(PYTEST_ARGS)

# The slow tests (marked `slow`, left out of `make test`): a short soak, the database outage
# on a private PostgreSQL server, the importer's memory in a subprocess.
test-slow: $(STAMP)
	$(PY) -m pytest -m slow $(PYTEST_ARGS)

# Only the tests with a real Varnish in front of a live server (marked `varnish`; they need
# PostgreSQL: DATABASE_URL), and they must run: Varnish is installed if missing.
test-varnish: $(STAMP) varnish
	NEWSROOM_VARNISH_TESTS=require $(PY) -m pytest -m varnish $(PYTEST_ARGS)

# Only the browser tests, and they must run: a missing Chromium or axe-core is an error.
test-browser: $(STAMP) $(AXE)
	NEWSROOM_BROWSER_TESTS=require NEWSROOM_CHROMIUM=$(CHROMIUM) $(PY) -m pytest -m browser tests/browser $(PYTEST_ARGS)

# The README's pictures (docs/home.png, story.png, desk.png, editor.png, preview.png), from the
# browser tests.
docs-screenshots: $(STAMP)
	NEWSROOM_DOCS_SCREENSHOTS=1 NEWSROOM_BROWSER_TESTS=require NEWSROOM_CHROMIUM=$(CHROMIUM) \
		$(PY) -m pytest -q -m browser tests/browser/test_reader.py tests/browser/test_desk_screenshots.py -k screenshots

# Everything the site holds, as JSON (README: "Security and operations"); media is separate.
BACKUP ?= var/backup-$(shell date +%Y%m%d-%H%M%S).json.gz
backup: export DEBUG ?= 1
backup: $(STAMP)
	@mkdir -p $(dir $(BACKUP))
	@# The dump holds every account's password hash: readable by this account only.
	umask 077 && $(PY) manage.py dumpdata --natural-foreign --natural-primary --exclude=contenttypes \
		--exclude=auth.permission --exclude=sessions --exclude=axes --exclude=admin.logentry \
		--exclude=stories.databaseidentity --exclude=django_tasks_database \
		--exclude=stories.listingchange --exclude=stories.listingchangenote \
		--output $(BACKUP)
	@echo "Backed up to $(BACKUP)"

# Into an empty database only: `make restore BACKUP=var/backup-....json.gz`.
restore: export DEBUG ?= 1
restore: $(STAMP)
	@test -f "$(BACKUP)" || { echo "make restore BACKUP=path/to/backup.json.gz"; exit 1; }
	$(PY) manage.py migrate --noinput
	$(PY) manage.py loaddata $(BACKUP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

check: export DEBUG ?= 1
check: $(STAMP)
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

ci: lint check test

clean:
	rm -rf $(VENV) var .pytest_cache .env
