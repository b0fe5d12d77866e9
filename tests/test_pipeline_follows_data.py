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
    # the run log says why (the first dbt stage's detail; `meterline run` prints the same line)
    assert any("full build: no record of a successful build" in st.detail for st in full_log.stages)

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
    (plan,) = [st.detail for st in log.stages if "standing" in st.detail]
    assert "source(s) changed:" in plan and "full build" not in plan
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


def _node(uid: str, parents: list[str], tags: list[str] | None = None) -> dict[str, object]:
    kind, _, name = uid.split(".")
    return {
        "resource_type": kind,
        "name": name,
        "fqn": ["meterline", "x", name],
        "tags": tags or [],
        "depends_on": {"nodes": parents},
    }


MANIFEST = {
    "sources": {
        "source.meterline.raw.usage": {"schema": "raw", "name": "usage"},
        "source.meterline.raw.budgets": {"schema": "raw", "name": "budgets"},
    },
    "nodes": {
        "model.meterline.a": _node("model.meterline.a", ["source.meterline.raw.usage"]),
        "model.meterline.b": _node("model.meterline.b", ["source.meterline.raw.budgets"]),
        "model.meterline.c": _node("model.meterline.c", ["model.meterline.a", "model.meterline.b"]),
        "model.meterline.s": _node("model.meterline.s", ["model.meterline.a"], ["scenarios"]),
        "test.meterline.ta": _node("test.meterline.ta", ["model.meterline.a"]),
        "test.meterline.tab": _node(
            "test.meterline.tab", ["model.meterline.a", "model.meterline.b"]
        ),
        "test.meterline.tc": _node("test.meterline.tc", ["model.meterline.c"]),
        "test.meterline.ts": _node("test.meterline.ts", ["model.meterline.s"]),
    },
}
HASHES = {"source.meterline.raw.usage": "u1", "source.meterline.raw.budgets": "b1"}
PASSED = {"status": "pass", "message": None, "failures": 0}
STATE = {
    "project": "p",
    "code": "c",
    "sources": HASHES,
    "tests": {u: PASSED for u in ("test.meterline.ta", "test.meterline.tab", "test.meterline.tc")},
}


def test_the_plan_builds_what_a_changed_source_reaches_and_carries_the_rest() -> None:
    from orchestration.build_plan import plan_build

    changed = {**HASHES, "source.meterline.raw.budgets": "b2"}
    plan = plan_build(MANIFEST, STATE, changed, project="p", code="c")
    assert not plan.full and plan.changed == ("source.meterline.raw.budgets",)
    # b, c and the tests touching them run (tab joins a standing and a rebuilt model); a and its
    # own test stand, the test's result carried; the scenario model is not this build's
    assert plan.skipped == {"model.meterline.a", "test.meterline.ta"}
    assert dict(plan.carried) == {"test.meterline.ta": PASSED}
    assert plan.dbt_args(MANIFEST) == [
        "--indirect-selection",
        "empty",
        "--exclude",
        "fqn:meterline.x.a fqn:meterline.x.ta fqn:meterline.x.ts",
    ]
    nothing = plan_build(MANIFEST, STATE, HASHES, project="p", code="c")
    assert not nothing.full and len(nothing.skipped) == 6


@pytest.mark.parametrize(
    ("state", "project", "reason"),
    [
        (None, "p", "no record of a successful build"),
        (STATE, "other", "the dbt project changed"),
        ({**STATE, "tests": {}}, "p", "no recorded result for 1 test(s)"),
        (
            {**STATE, "sources": {"source.meterline.raw.usage": "u1"}},
            "p",
            "the dbt sources changed",
        ),
    ],
)
def test_any_doubt_builds_everything(state: dict | None, project: str, reason: str) -> None:
    from orchestration.build_plan import plan_build

    changed = {**HASHES, "source.meterline.raw.budgets": "b2"}
    plan = plan_build(MANIFEST, state, changed, project=project, code="c")
    assert plan.full and plan.reason == reason and plan.dbt_args(MANIFEST) == []
    forced = plan_build(
        MANIFEST, STATE, changed, project="p", code="c", full_reason="a full refresh"
    )
    assert forced.full and forced.reason == "a full refresh"
