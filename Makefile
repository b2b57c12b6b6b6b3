# Impftermin — every set-up step lives here; see README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
MANAGE := $(BIN)/python manage.py
PG_URL ?= postgres://postgres@127.0.0.1:5432/impftermin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help install frontend gettext chromium run migrate demo test test-fast screenshots bench bench-http lint format messages lock audit clean

help:
	@echo "make run    install, migrate, load demo data, serve on http://$(HOST):$(PORT)/ with the worker"
	@echo "make test   run the whole test suite (PostgreSQL tests need DATABASE_URL=postgres://...)"
	@echo "make bench  booking and assignment benchmarks against PostgreSQL ($(PG_URL))"
	@echo "make bench-http  the service under gunicorn, a release storm over HTTP (PostgreSQL, Redis)"
	@echo "make lint   ruff check and format check"
	@echo "make messages  collect the German texts into the English .po and compile it"
	@echo "make lock   re-resolve dependencies into constraints.txt"
	@echo "make audit  pip-audit of the locked dependencies (needs a vulnerability database online)"

# The virtualenv is rebuilt only when pyproject.toml or constraints.txt change.
$(STAMP):
	@test -n "$(PYTHON)" || { echo "Python 3.11 is needed (python3.11 or python3)"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' || { echo "Python >= 3.11 is needed"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

# Front-end packages from the npm registry, exactly as locked in package-lock.json.
FRONTEND_STAMP := node_modules/.installed-$(shell cat package.json package-lock.json | cksum | cut -d' ' -f1)
$(FRONTEND_STAMP):
	@command -v npm >/dev/null || { echo "npm is needed for the KERN UX styles: apt-get install npm"; exit 1; }
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	rm -f node_modules/.installed-*
	touch $@

frontend: $(FRONTEND_STAMP)

migrate: install
	@mkdir -p "$${IMPFTERMIN_VAR_DIR:-var}"
	$(MANAGE) migrate --no-input -v 0
	$(MANAGE) setup_roles -v 0

demo: migrate
	$(MANAGE) load_demo_data

# One Ctrl-C (SIGINT to the process group) stops the server, the worker and the scheduler.
run: frontend demo
	@$(MANAGE) collectstatic --no-input -v 0
	@$(MANAGE) demo_info --url "http://$(HOST):$(PORT)/"
	@export SITE_URL="$${SITE_URL:-http://$(HOST):$(PORT)}"; \
	 trap 'kill 0' INT TERM EXIT; \
	 $(MANAGE) db_worker --queue-name default --no-reload & \
	 $(MANAGE) run_scheduler & \
	 $(MANAGE) runserver --noreload $(HOST):$(PORT)

# GNU gettext (Debian package) is needed by `make messages` and by the tests that check
# that every German text has its English translation. Installed when missing and we are
# root (as on CI); otherwise those tests skip locally and fail under CI.
gettext:
	@command -v xgettext >/dev/null && command -v msgfmt >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing the Debian package gettext (translation checks)"; \
	    apt-get update -qq && apt-get install -y -qq gettext >/dev/null; \
	  else echo "GNU gettext is missing: apt-get install gettext (translation checks will skip)"; fi; }

# Debian's Chromium for the browser tests: Playwright drives /usr/bin/chromium (browser
# downloads are neither needed nor possible here). Installed when missing and we are root
# (as on CI); otherwise the browser tests skip locally and fail under CI.
chromium:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing the Debian package chromium (browser tests)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Chromium is missing: apt-get install chromium (browser tests will skip)"; fi; }

test: install gettext frontend chromium
	@mkdir -p "$${IMPFTERMIN_VAR_DIR:-var}"
	$(BIN)/pytest

test-fast: install
	$(BIN)/pytest -m "not slow"

# The main pages of the codes flow as PNGs in docs/screenshots/ (taken by the browser test),
# and the first page of a letter (R17) rendered from its PDF.
screenshots: install frontend chromium
	SCREENSHOTS=1 DATABASE_URL="$${DATABASE_URL:-$(PG_URL)}" $(BIN)/pytest -q tests/e2e -k "whole_flow and not en"
	SCREENSHOTS=1 DATABASE_URL="$${DATABASE_URL:-$(PG_URL)}" $(BIN)/pytest -q tests/e2e/test_registration_flow_in_chromium.py -k "registration_walk and not en"
	SCREENSHOTS=1 DATABASE_URL="$${DATABASE_URL:-$(PG_URL)}" $(BIN)/pytest -q tests/registrations/test_letters.py -k screenshot
	SCREENSHOTS=1 DATABASE_URL="$${DATABASE_URL:-$(PG_URL)}" $(BIN)/pytest -q "tests/e2e/test_information_in_chromium.py::test_item3_visitor_searches_the_faq_for_pin_and_finds_the_entry[de]"
	SCREENSHOTS=1 DATABASE_URL="$${DATABASE_URL:-$(PG_URL)}" $(BIN)/pytest -q "tests/e2e/test_console_in_chromium.py::test_R1_R4_agent_books_without_email_reads_codes_then_finds_by_code_rebooks_and_cancels[de]"

bench: install
	DATABASE_URL="$${DATABASE_URL:-$(PG_URL)}" $(BIN)/python -m bench.booking_storm
	DATABASE_URL="$${DATABASE_URL:-$(PG_URL)}" $(BIN)/python -m bench.assignment

# The service over HTTP (gunicorn, PostgreSQL, Redis) under a release storm (issue 9).
bench-http: install
	@mkdir -p "$${IMPFTERMIN_VAR_DIR:-var}"
	DATABASE_URL="$${DATABASE_URL:-$(PG_URL)}" $(BIN)/python -m bench.http_storm

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# German source texts -> src/impftermin/locale/en/LC_MESSAGES/django.po; translate the new
# entries there, then run it again to compile.
messages: install gettext
	cd src/impftermin && $(CURDIR)/$(BIN)/python $(CURDIR)/manage.py makemessages -l en --no-obsolete --add-location=file
	cd src/impftermin && $(CURDIR)/$(BIN)/python $(CURDIR)/manage.py compilemessages -l en

lock:
	rm -rf /tmp/impftermin-lock && $(PYTHON) -m venv /tmp/impftermin-lock
	/tmp/impftermin-lock/bin/pip install --quiet --disable-pip-version-check '.[dev]'
	/tmp/impftermin-lock/bin/pip freeze --exclude impftermin > constraints.txt

audit: install
	$(BIN)/pip install --quiet --disable-pip-version-check pip-audit
	$(BIN)/pip-audit --strict -r constraints.txt

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
