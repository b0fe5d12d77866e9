"""Work that follows the data (issue 16): a run rebuilds only the dbt models and tests downstream of
a source whose rows changed; the rest stand, their tests' last results are reported again and
still gate publishing, and the marts equal a full rebuild of the same raw rows."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from orchestration.build_plan import BUILD_STATE
from orchestration.config import Settings
from orchestration.pipeline import run_pipeline
from orchestration.run_log import read_run_log
from tests.conftest import FIXTURES
from tests.support.pipeline import add_late_event, make_data_dir, mart_checksums

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::Warning")]

BUDGETS = (
    "customer_id,monthly_budget,alert_thresholds_pct,hard_limit\ncus_northwind,50.00,50|100,false\n"
)


def built(s: Settings) -> tuple[set[str], int]:
    """The models dbt built in the last run, and how many tests it ran."""
    path = s.data_dir / ".meterline" / "dbt_target" / "run_results.json"
    ids = [r["unique_id"] for r in json.loads(path.read_text())["results"]]
    models = {u.split(".")[-1] for u in ids if u.startswith("model.")}
    return models, sum(1 for u in ids if u.startswith("test."))


def full_rebuild(s: Settings, tmp: Path) -> dict[str, str]:
    """The marts of a full refresh of a copy of the same warehouse (the same raw rows and load
    batches: a provider row carries the batch that loaded it)."""
    data = tmp / "copy"
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(s.data_dir, data)
    copy = Settings(data_dir=data, warehouse=data / "warehouse.duckdb")
    assert run_pipeline(copy, progress=False, full_refresh=True)
    return mart_checksums(copy)


def test_only_what_depends_on_the_changed_source_is_rebuilt(tmp_path: Path) -> None:
    data = make_data_dir(tmp_path / "data")
    s = Settings(data_dir=data, warehouse=data / "warehouse.duckdb")
    assert run_pipeline(s, progress=False)
    full_models, full_tests = built(s)
    assert "int_billing_usage_priced" in full_models and full_tests > 100
    full_log = read_run_log(s)
    assert full_log is not None
    checks = {(c.asset, c.check) for c in full_log.checks}

    # a budget file: the budget staging model and the controls marts that read budgets, nothing
    # of rating, invoices or costs
    (data / "reference" / "budgets.csv").write_text(BUDGETS, encoding="utf-8")
    assert run_pipeline(s, progress=False)
    models, tests = built(s)
    assert "stg_reference__budgets" in models and "fct_spend_alerts" in models
    assert not models & {"int_billing_usage_priced", "fct_invoices", "fct_customer_margin"}
    assert len(models) < len(full_models) / 4 and tests < full_tests / 4
    log = read_run_log(s)
    assert log is not None and log.status == "succeeded"
    # every test's result is this run's too: the standing ones carried from the last build
    assert {(c.asset, c.check) for c in log.checks} == checks
    assert all(c.passed for c in log.checks if c.blocking)
    assert mart_checksums(s) == full_rebuild(s, tmp_path)

    # provider costs: the cost models, not the rating of usage
    focus = data / "raw" / "costs" / "focus" / "focus_sample.csv"
    focus.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / "focus" / "focus_sample.csv", focus)
    assert run_pipeline(s, progress=False)
    models, _ = built(s)
    assert "stg_focus__costs" in models and "fct_provider_costs" in models
    assert not models & {"int_billing_usage_priced", "int_billing_usage_rated", "fct_invoices"}
    assert mart_checksums(s) == full_rebuild(s, tmp_path)

    # new usage: rating and invoices again; the provider-cost staging stands
    add_late_event(data)
    assert run_pipeline(s, progress=False)
    models, _ = built(s)
    assert {"int_billing_usage_priced", "fct_invoices"} <= models
    assert "stg_focus__costs" not in models and "stg_reference__budgets" not in models
    assert mart_checksums(s) == full_rebuild(s, tmp_path)


def test_without_a_record_of_the_last_build_everything_is_built(tmp_path: Path) -> None:
    """The record is written only by a successful build: without it (a failed or killed build
    deletes it first) the next build is a full one."""
    data = make_data_dir(tmp_path / "data")
    s = Settings(data_dir=data, warehouse=data / "warehouse.duckdb")
    assert run_pipeline(s, progress=False)
    full_models, full_tests = built(s)
    state = data / ".meterline" / "dbt_target" / BUILD_STATE
    assert state.exists()
    state.unlink()
    (data / "reference" / "budgets.csv").write_text(BUDGETS, encoding="utf-8")
    assert run_pipeline(s, progress=False)
    assert built(s) == (full_models, full_tests)
    assert state.exists()
