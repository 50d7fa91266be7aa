# Pulse developer entry points. Only Python 3.11+ is needed; everything else is installed
# into .venv (and node_modules for buf and the charting library) by these targets.

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	&& echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
PYPROJECTS := $(wildcard services/*/pyproject.toml)
PYTEST_ARGS ?=

.PHONY: help install install-dev demo test lint typecheck protos protos-check buf-lint \
	test-only test-slow bench validate-stats validate-verdicts dev-up dev-down clean deploy-check \
	test-cluster test-faults test-anonymity

help:
	@echo "make demo    set up .venv and run the live demo (Ctrl-C stops everything)"
	@echo "make test    set up .venv and run lint, type checks, buf lint and all tests"
	@echo "make test-slow   also run the long simulations"
	@echo "make test-cluster  failover tests on a 3-node NATS cluster and replicated PostgreSQL"
	@echo "make test-faults   the fault suite at full size (make test runs its quick version)"
	@echo "make test-anonymity  issue 13's adversaries, one linkage line each"
	@echo "make protos  regenerate services/common/src/pulse from protos/"

$(VENV)/bin/python:
	@test -n "$(PYTHON)" || (echo "Python 3.11+ is required (python3.11, python3.12 or python3)"; exit 1)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): $(VENV)/bin/python requirements.txt $(PYPROJECTS)
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

$(DEV_STAMP): $(RUNTIME_STAMP) requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@# npm ci installs exactly the committed lock file and never rewrites it (make test leaves git clean)
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: buf lint will be skipped"; fi
	@touch $@

install: $(RUNTIME_STAMP)
install-dev: $(DEV_STAMP)

demo: $(RUNTIME_STAMP)
	$(BIN)/pulse demo

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

protos: $(DEV_STAMP)
	$(BIN)/python scripts/gen_protos.py

protos-check: $(DEV_STAMP)
	$(BIN)/python scripts/gen_protos.py --check

buf-lint: $(DEV_STAMP)
	@if [ -x node_modules/.bin/buf ]; then node_modules/.bin/buf lint && echo "buf lint: clean"; \
	else echo "SKIPPED buf lint: npm is not installed, so @bufbuild/buf is unavailable"; fi
	@# Wire compatibility against main (a no-op on main itself; a branch must not break clients).
	@if [ -x node_modules/.bin/buf ] && git rev-parse --verify -q main >/dev/null; then \
	node_modules/.bin/buf breaking --against '.git#branch=main' && echo "buf breaking: compatible with main"; \
	else echo "SKIPPED buf breaking: needs npm (@bufbuild/buf) and a local main branch"; fi

test-only: $(DEV_STAMP)
	$(BIN)/pytest -m "not slow and not cluster" $(PYTEST_ARGS)

test: lint typecheck protos-check buf-lint deploy-check test-only

# Every manifest against the Kubernetes schemas, compose variables against the code, the image.
deploy-check: $(DEV_STAMP)
	$(BIN)/python scripts/deploy_check.py

# Failover on loopback: 3 NATS nodes, PostgreSQL primary + synchronous standby (a few minutes).
test-cluster: $(DEV_STAMP)
	$(BIN)/pytest -m cluster tests/cluster -p no:cacheprovider $(PYTEST_ARGS)

# The fault suite (tests/faults) at the issue's sizes: one line per property, ~15 minutes.
test-faults: $(DEV_STAMP)
	PULSE_FAULT_SCALE=full $(BIN)/pytest tests/faults -p no:cacheprovider $(PYTEST_ARGS)

# Issue 13's adversaries: one line each, `linkage <name>: matched=<m> of <n> chance=<c>`
# at the issue's size (200 respondents); `make test` runs the same tests with 60.
test-anonymity: $(DEV_STAMP)
	PULSE_FAULT_SCALE=full $(BIN)/pytest -m anonymity -p no:cacheprovider $(PYTEST_ARGS)

test-slow: $(DEV_STAMP)
	$(BIN)/pytest -m slow $(PYTEST_ARGS)

validate-stats: $(DEV_STAMP)
	$(BIN)/python scripts/validate_stats.py

# The verdict on simulated organisations (issue 21): one line per scenario.
REPLICATES ?= 1000
validate-verdicts: $(DEV_STAMP)
	$(BIN)/python scripts/validate_verdicts.py --replicates $(REPLICATES) --check

bench: $(DEV_STAMP)
	@for script in scripts/bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

dev-up: $(RUNTIME_STAMP)
	$(BIN)/pulse dev up

dev-down: $(RUNTIME_STAMP)
	$(BIN)/pulse dev down

clean:
	-$(BIN)/pulse dev down 2>/dev/null
	rm -rf $(VENV) node_modules .pulse .mypy_cache .ruff_cache .pytest_cache
