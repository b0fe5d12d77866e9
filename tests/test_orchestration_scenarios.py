"""The pricing lab's wiring (no build): the scenarios asset owns exactly the dbt models tagged
`scenarios` (excluded from the main dbt assets), sits between the dbt build and the published
snapshot, and the re-rated chain is the rating, invoice and margin-breakdown models only."""

from __future__ import annotations

import json

import dagster as dg

from orchestration.defs.dbt.assets import DBT_MANIFEST


def _manifest() -> dict:  # type: ignore[type-arg]
    return json.loads(DBT_MANIFEST.read_text(encoding="utf-8"))


def test_scenario_asset_owns_the_tagged_models() -> None:
    from orchestration.defs.dbt.assets import DBT_ASSETS
    from orchestration.defs.scenarios.assets import SCENARIO_MODELS

    tagged = {
        (n["config"]["schema"], n["name"])
        for n in _manifest()["nodes"].values()
        if n["resource_type"] == "model" and "scenarios" in n["config"].get("tags", [])
    }
    assert tagged == set(SCENARIO_MODELS)
    dbt_keys = {k for a in DBT_ASSETS for k in a.keys}
    assert not dbt_keys & {dg.AssetKey(list(k)) for k in SCENARIO_MODELS}


def test_scenarios_run_after_the_build_and_before_publishing() -> None:
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    scenario = dg.AssetKey(["marts", "fct_scenario_invoices"])
    assert dg.AssetKey(["marts", "fct_invoices"]) in graph.get(scenario).parent_keys
    assert scenario in graph.get(dg.AssetKey(["exports", "published_warehouse"])).parent_keys
    from orchestration.pipeline import SCENARIOS, STAGE_ORDER

    assert STAGE_ORDER.index(SCENARIOS) == STAGE_ORDER.index("publish") - 1


def test_the_rerated_chain() -> None:
    from orchestration.scenarios import chain_models

    chain = set(chain_models(_manifest()))
    for model in (
        "stg_reference__plans",
        "stg_reference__subscriptions",
        "stg_ledger__issued_invoices",
        "int_billing_usage_priced",
        "int_billing_credit_burns",
        "fct_invoices",
        "fct_invoice_lines",
        "fct_customer_margin_breakdown",
    ):
        assert model in chain, model
    # meters on extra data keys follow the plans' `when` keys, and shared COGS may be
    # allocated by revenue: both are re-run
    assert {"int_usage_meter_extra_keys", "int_cogs_allocated"} <= chain
    # usage aggregation, provider costs and customers are read from the real tables
    for model in (
        "int_usage_batches_daily",
        "int_cogs_pools",
        "int_usage_costs_expected",
        "stg_reference__customers",
        "fct_customer_margin",
        "fct_scenario_invoices",
    ):
        assert model not in chain, model
