# The two commands of the quick start are `make run` and `make test`; the rest are their parts.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
HOST ?= 127.0.0.1
PORT ?= 8000
export HOST PORT

.PHONY: run test test-fast lint fmt audit install install-dev lock messages clean load load-quick \
	faults bench bench-quick fuzz

## run: install, migrate, load the demo data, start web server + Celery worker + beat
run: install
	$(BIN)/python manage.py compile_translations
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho --procfile Procfile.dev start

## test: install the dev tools, lint, and run the whole suite
test: lint
	$(BIN)/python -m pytest

## test-fast: the edit loop: the suite without lint, browser tests or tests that start processes
## (gunicorn, Celery workers, redis-server, PostgreSQL clusters, moto, wrk, node: marked slow)
test-fast: install-dev
	$(BIN)/python -m pytest -m "not browser and not slow"

## load: 50 simulated users for 5 minutes against gunicorn + PostgreSQL + Redis + a Celery
## worker on a scratch database (DATABASE_URL's server; LOAD_REDIS_URL or db 13 of REDIS_URL's
## server, flushed); prints a table, checks the ledger and application invariants, writes
## bench/results/load.json and docs/reliability/load.md
LOAD_ARGS ?=
load: install-dev
	$(BIN)/python bench/load.py --users 50 --duration 300 --report docs/reliability/load.md $(LOAD_ARGS)

## load-quick: the same with 10 users for 20 seconds (no report; its own JSON)
load-quick: install-dev
	$(BIN)/python bench/load.py --users 10 --duration 20 --json bench/results/load-quick.json \
		--database cb_load_quick $(LOAD_ARGS)

## faults: kill and restart the worker, Redis and PostgreSQL under load, FAULT_ITERATIONS times each
## (a private PostgreSQL cluster and redis-server under var/faults/; needs their binaries, and root
## or the postgres user); prints the table and writes docs/reliability/faults.md
FAULT_ITERATIONS ?= 10
faults: install-dev
	$(BIN)/python manage.py compile_translations
	$(BIN)/python -m bench.faults.run --iterations $(FAULT_ITERATIONS)

## lint: ruff (lint and format), mypy, no model change without its migration, and the house:
## the layers contract (import-linter, [tool.importlinter] in pyproject.toml) and no use of another
## app's private names (scripts/lint/private_names.py)
lint: install-dev
	$(BIN)/lint-imports
	$(BIN)/python scripts/lint/private_names.py
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/python manage.py makemigrations --check --dry-run

## audit: known vulnerabilities of the locked dependencies (pip-audit; needs PyPI's JSON API
## or OSV). --strict: a dependency that could not be checked fails the audit, never passes it.
audit: install-dev
	$(BIN)/pip-audit -r requirements.lock --require-hashes --disable-pip --strict --progress-spinner off
	$(BIN)/pip-audit -r requirements-dev.lock --require-hashes --disable-pip --strict --progress-spinner off

## fuzz: the long API fuzzing run (1,000 examples per operation and role) against gunicorn on a
## scratch copy of the demo data; needs PostgreSQL (DATABASE_URL). Writes var/fuzz/summary.json
fuzz: install-dev
	$(BIN)/python manage.py compile_translations
	nice -n 10 $(BIN)/python scripts/fuzz/long_run.py $(FUZZ_ARGS)

fmt: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

install: $(VENV)/.installed-run
install-dev: $(VENV)/.installed-dev

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed-run: requirements.lock | $(BIN)/uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python --require-hashes -r requirements.lock
	touch $@

$(VENV)/.installed-dev: requirements-dev.lock | $(BIN)/uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python --require-hashes -r requirements-dev.lock
	touch $@ $(VENV)/.installed-run

## lock: re-resolve pyproject.toml into the two hashed lock files
lock: | $(BIN)/uv
	$(BIN)/uv pip compile pyproject.toml --quiet --generate-hashes --universal \
		--python-version 3.11 -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --quiet --extra dev --generate-hashes --universal \
		--python-version 3.11 -c requirements.lock -o requirements-dev.lock

## messages: extract translatable strings into locale/zh_Hans (needs GNU gettext)
messages: install-dev
	$(BIN)/python manage.py makemessages --locale zh_Hans --ignore '.venv/*' --ignore 'var/*' --no-obsolete
	$(BIN)/python manage.py compile_translations

## bench: every benchmark at 10,000 and 1,000,000 accounts (see bench/README.md; needs
## PostgreSQL at DATABASE_URL, Redis at REDIS_URL, wrk and pgbench; about an hour)
bench: install-dev
	$(BIN)/python -m bench all

## bench-quick: every step, small (200 accounts, 1 s runs): tests/bench runs it so they do not rot
bench-quick: install-dev
	$(BIN)/python -m bench quick

clean:
	rm -rf var/broker var/results var/celerybeat-schedule*
