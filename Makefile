# vsmml: `make help` lists the targets. `make demo` and `make test` do all set-up themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := true
export UV_PYTHON := $(PYTHON)

.DEFAULT_GOAL := help

help: ## List the targets with what they do
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

# uv from PATH, else `python -m uv`, else pip-installed for this user, else (a Python that
# refuses pip installs, PEP 668) in a private .venv-uv; then the locked environment in .venv,
# compiled to bytecode as pip would (the first `vsmml score` does not compile pandas).
$(VENV)/.installed: pyproject.toml uv.lock
	@if command -v uv >/dev/null 2>&1; then uv=uv; \
	elif $(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --disable-pip-version-check uv >/dev/null 2>&1; then uv="$(PYTHON) -m uv"; \
	else $(PYTHON) -m venv .venv-uv && .venv-uv/bin/pip install --quiet --disable-pip-version-check uv && uv=.venv-uv/bin/uv; fi; \
	echo "$$uv sync --frozen --compile-bytecode --python $(PYTHON)"; $$uv sync --frozen --compile-bytecode --python $(PYTHON)
	@touch $@

install: $(VENV)/.installed ## Create .venv in the repo root with the locked dependencies (uv)

demo: install ## Generate the synthetic organisation, ingest it, print the tour
	$(BIN)/vsmml demo

lint: install ## ruff (lint + format check), mypy --strict on src/, import-linter layer contracts
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint ## Lint, then pytest with the 85 % coverage floor on src/vsmml
	$(BIN)/pytest -q -n 2 --dist loadfile --cov=vsmml --cov-report=term --cov-fail-under=85

test-fast: install ## pytest without the tests marked slow (a quick loop while developing)
	$(BIN)/pytest -q -n 2 --dist loadfile -m "not slow"

bench: install ## Run the benchmarks under bench/ at full size (long) and print their tables
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

bench-quick: install ## Run every benchmark in its small --quick mode
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b --quick || exit 1; done

format: install ## Apply ruff's formatting and autofixes
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean: ## Remove the virtualenv, caches and the local store
	rm -rf $(VENV) .venv-uv .pytest_cache .mypy_cache .ruff_cache .coverage .vsmml

.PHONY: help install demo lint test test-fast bench bench-quick format clean
