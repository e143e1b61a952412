# Mashup Studio: `make run` starts the app, `make test` runs every test. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python >= 3.12: pyenv reads .python-version; otherwise the first python3.12 on PATH.
PYTHON ?= $(shell pyenv which python 2>/dev/null || command -v python3.12 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
CHROMIUM ?= /usr/bin/chromium

.PHONY: help run test test-postgres lint format typecheck lock browser install install-dev clean

help:
	@echo "make run    set up and start the app (web on http://127.0.0.1:8000 + worker)"
	@echo "make test   set up and run the whole test suite (browser tests included)"
	@echo "make test-postgres   the concurrency tests again on PostgreSQL (POSTGRES_URL)"
	@echo "make lint   ruff + mypy + lint-imports     make lock   regenerate the hashed lock files"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 12), "Python 3.12+ is needed, found " + sys.version' 
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25"

$(VENV)/.runtime: requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements.lock
	@touch $@

$(VENV)/.dev: requirements-dev.lock | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements-dev.lock
	@touch $@ $(VENV)/.runtime

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

# `honcho run` reads .env like `honcho start` does, so set-up and app see the same settings.
MANAGE := $(BIN)/honcho run $(BIN)/python manage.py

run: install
	$(MANAGE) migrate --no-input --verbosity 0
	$(MANAGE) collectstatic --no-input --verbosity 0
	$(MANAGE) ensure_admin
	@$(BIN)/honcho run sh -c 'echo "Mashup Studio: http://$${WEB_HOST:-127.0.0.1}:$${WEB_PORT:-8000}   (Ctrl-C stops the web server and the worker)"'
	exec $(BIN)/honcho start --procfile Procfile

# Browser tests drive Debian's Chromium. CI must run them, so CI installs it if missing.
browser:
	@if [ ! -x "$(CHROMIUM)" ] && { [ "$${CI:-}" = "true" ] || [ "$$(id -u)" = "0" ]; }; then \
		echo "Installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

test: install-dev browser
	$(BIN)/python -m pytest

# The tests of what parallel requests do to the database, on PostgreSQL too: its row locks
# let transactions interleave where SQLite lets one writer in at a time (some of these
# tests can only fail there). CI runs it and fails without a PostgreSQL at POSTGRES_URL;
# elsewhere it says so and passes.
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/mashups_ci
POSTGRES_AT = $(BIN)/python -c 'import sys, urllib.parse; u = urllib.parse.urlsplit(sys.argv[1]); print(f"{u.hostname}:{u.port or 5432}")' "$(POSTGRES_URL)"
test-postgres: install-dev
	@if $(BIN)/python -c 'import socket, sys, urllib.parse; u = urllib.parse.urlsplit(sys.argv[1]); socket.create_connection((u.hostname, u.port or 5432), 1)' "$(POSTGRES_URL)" 2>/dev/null; then \
		DATABASE_URL="$(POSTGRES_URL)" $(BIN)/python -m pytest -p no:cacheprovider tests/test_quotas_concurrency.py; \
	elif [ "$${CI:-}" = "true" ]; then echo "test-postgres: no PostgreSQL answers at $$($(POSTGRES_AT)), and CI must run these tests"; exit 1; \
	else echo "test-postgres: no PostgreSQL answers at $$($(POSTGRES_AT)): skipped"; fi

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy mashup_site
	$(BIN)/lint-imports

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Regenerate both locks from pyproject.toml (the dev lock is constrained by the runtime one,
# so both install the same versions). tests/test_locks.py fails when they disagree.
lock: install-dev
	$(BIN)/pip install --quiet "uv==0.13.8"
	$(BIN)/uv pip compile pyproject.toml --generate-hashes --python-version 3.12 \
		--python-platform x86_64-manylinux_2_28 --custom-compile-command "make lock" \
		--quiet -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.12 \
		--python-platform x86_64-manylinux_2_28 --custom-compile-command "make lock" \
		--quiet -c requirements.lock -o requirements-dev.lock

clean:
	rm -rf $(VENV) var/staticfiles .pytest_cache .mypy_cache .ruff_cache
