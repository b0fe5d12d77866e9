# meterline — make verbs. Everything bootstraps itself: uv, the locked environment, dbt's manifest.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
RUN := $(UV) run --frozen
DATA_DIR ?= data
DEMO_PERIOD ?= 2026-10
DEMO_FIRST_PERIOD ?= 2026-09
export METERLINE_DATA_DIR ?= $(abspath $(DATA_DIR))
# Install compiled bytecode: with PYTHONDONTWRITEBYTECODE set (as on the CI machine) Python never
# caches .pyc, and every process (meterline, each dbt subprocess, pytest) compiled Dagster and dbt
# from source again: ~12 s of a 61 s no-change `meterline run` on the 10M bench warehouse.
export UV_COMPILE_BYTECODE := 1

.PHONY: help uv install install-dev manifest demo test lint dev dashboard bench docs clean

help:
	@echo "make demo       install, generate sample data, run the pipeline, close $(DEMO_FIRST_PERIOD), request a credit note, close through $(DEMO_PERIOD), export"
	@echo "make test       install and run the whole test suite"
	@echo "make lint       SQLFluff (dbt templater) over dbt_project, ruff check + format on Python"
	@echo "make dev        Dagster UI (localhost:3000)"
	@echo "make dashboard  Streamlit finance dashboard (localhost:8501)"
	@echo "make bench      benchmark at 10M events (EVENTS=...)"
	@echo "make docs       dbt docs (catalog of the marts)"
	@echo "make clean      remove generated data and build output"

uv:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv

install: uv
	$(UV) sync --frozen --no-dev
	@$(MAKE) --no-print-directory manifest

# the dev environment carries the Spark engine (pyproject extra `spark`: dbt-spark + pyspark,
# ~480 MB) for tests/test_spark_equality.py
install-dev: uv
	$(UV) sync --frozen --extra spark
	@$(MAKE) --no-print-directory manifest

# @dbt_assets needs target/manifest.json at import time. Parsed as the pipeline's build parses
# (orchestration/project_parse.py), it also seeds every data directory's first build.
manifest:
	$(RUN) python -m orchestration.project_parse

demo: install
	bash scripts/ensure-pdf-deps.sh || true
	$(RUN) meterline generate --out $(DATA_DIR)
	$(RUN) meterline run --data-dir $(DATA_DIR)
	$(RUN) meterline close --period $(DEMO_FIRST_PERIOD) --no-refresh --data-dir $(DATA_DIR)
	$(RUN) meterline credit-note --invoice INV-$(subst -,,$(DEMO_FIRST_PERIOD))-00001 --line 6 --amount 20.00 \
	  --reason "images regenerated after an outage" --settlement account_credit --id demo-cn-1 \
	  --data-dir $(DATA_DIR)
	$(RUN) meterline close --through $(DEMO_PERIOD) --data-dir $(DATA_DIR)
	$(RUN) meterline summary --data-dir $(DATA_DIR) --period $(DEMO_PERIOD)

# the suite runs on two pytest-xdist workers, one test module per worker at a time (a module's
# fixtures build its warehouse once), the longest modules first (tests/conftest.py LONGEST_FIRST);
# tests marked `serial` change the shared dbt project and run alone afterwards. Three workers
# were 2.5 min faster once and hit a CPython 3.11 ast race in a Streamlit AppTest the next time
# (docs/design.md): two it stays.
# TEST_WORKERS=0 runs everything in one process. The 40 slowest setups and calls are listed at
# the end (what LONGEST_FIRST and the next speed-up are chosen from).
TEST_WORKERS ?= 2
test: install-dev
	bash scripts/ensure-chromium.sh || true
	bash scripts/ensure-pdf-deps.sh --with-poppler || true
	bash scripts/ensure-java.sh || true
	$(RUN) pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder -m "not serial" \
	  --durations=40
	$(RUN) pytest -q -m serial

# SQLFluff reads dbt_project/.sqlfluff (dbt templater: it compiles each model like dbt does; files
# that hold only macros are skipped by it, their SQL is linted where models call them). An
# in-memory warehouse: lint never touches data/, and models render their full-refresh form.
lint: install-dev
	cd dbt_project && METERLINE_WAREHOUSE=:memory: $(RUN) sqlfluff lint models macros tests analyses
	$(RUN) ruff check orchestration dashboards meterline_dev tests
	$(RUN) ruff format --check orchestration dashboards meterline_dev tests

dev: install
	$(RUN) meterline ui

dashboard: install
	$(RUN) meterline dashboard

EVENTS ?= 10000000
bench: install
	$(RUN) meterline bench --events $(EVENTS)

docs: install
	cd dbt_project && METERLINE_WAREHOUSE=$(METERLINE_DATA_DIR)/warehouse.duckdb $(RUN) dbt docs generate --profiles-dir .

clean:
	rm -rf $(DATA_DIR)/raw $(DATA_DIR)/reference $(DATA_DIR)/exports $(DATA_DIR)/published \
	  $(DATA_DIR)/warehouse.duckdb* $(DATA_DIR)/generator_truth.json \
	  dbt_project/target dbt_project/logs bench/results .pytest_cache
