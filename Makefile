# The two commands of the quick start are `make run` and `make test`; the rest are their parts.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
HOST ?= 127.0.0.1
PORT ?= 8000
export HOST PORT

.PHONY: run test lint fmt install install-dev lock messages clean fuzz

## run: install, migrate, load the demo data, start web server + Celery worker + beat
run: install
	$(BIN)/python manage.py compile_translations
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho --procfile Procfile.dev start

## test: install the dev tools, lint, and run the whole suite
test: lint
	$(BIN)/python -m pytest

## lint: ruff (lint and format), mypy, and no model change without its migration
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/python manage.py makemigrations --check --dry-run

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

clean:
	rm -rf var/broker var/results var/celerybeat-schedule*
