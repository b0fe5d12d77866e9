"""Pricing lab (issue 20): the scenarios of reference/scenarios/ re-rated after the real build.

One asset (``refresh_scenarios`` is the plain function it runs, callable from any job or
script): it re-rates the baseline and every scenario with the billing models in scenario mode,
builds the ``tag:scenarios`` dbt models (excluded from the main dbt assets) and writes
exports/scenarios/<scenario>.csv. It writes the warehouse, so it runs in the writer pool; the
published snapshot depends on it, so the dashboard shows fresh scenarios.
"""

from __future__ import annotations

import dagster as dg

from orchestration.config import Settings
from orchestration.defs.resources import DUCKDB_WRITER_POOL, MeterlineResource
from orchestration.scenarios import ScenarioRun

# the dbt models tagged `scenarios` (a test keeps this list equal to the manifest's)
SCENARIO_MODELS: tuple[tuple[str, str], ...] = (
    ("staging", "stg_scenarios__scenarios"),
    ("staging", "stg_scenarios__customers"),
    ("staging", "stg_scenarios__cost_changes"),
    ("staging", "stg_scenarios__invoices"),
    ("staging", "stg_scenarios__invoice_lines"),
    ("staging", "stg_scenarios__margin_rows"),
    ("intermediate", "int_scenario_cogs_changes"),
    ("marts", "fct_scenario_invoices"),
    ("marts", "fct_scenario_invoice_lines"),
    ("marts", "fct_scenario_bill_shocks"),
    ("marts", "fct_scenario_margin"),
    ("marts", "fct_scenario_customer_margin"),
)
SCENARIO_KEYS: tuple[dg.AssetKey, ...] = tuple(dg.AssetKey(list(k)) for k in SCENARIO_MODELS)
# what a scenario re-rates from: the real billing and margin marts (and all they read)
SCENARIO_DEPS: tuple[dg.AssetKey, ...] = (
    dg.AssetKey(["marts", "fct_invoices"]),
    dg.AssetKey(["marts", "fct_invoice_lines"]),
    dg.AssetKey(["marts", "fct_customer_margin_breakdown"]),
    dg.AssetKey(["intermediate", "int_usage_costs_expected"]),
)


def refresh_scenarios(s: Settings) -> ScenarioRun:
    """Re-rate every scenario, build the scenario marts, write every scenario's CSV."""
    from orchestration.scenarios import run_scenarios, write_scenario_csv
    from orchestration.warehouse import connect

    run = run_scenarios(s)
    with connect(s.warehouse, read_only=True) as con:
        for name in run.scenarios:
            write_scenario_csv(s, con, name)
    return run


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            key,
            deps=list(SCENARIO_DEPS),
            group_name="scenarios",
            kinds={"duckdb"},
            tags={"meterline/layer": key.path[0]},
        )
        for key in SCENARIO_KEYS
    ],
    name="pricing_lab_scenarios",
    pool=DUCKDB_WRITER_POOL,
    description="Pricing lab: every reference/scenarios/*.yml re-rated by the billing models "
    "(scenario mode) vs the baseline; fct_scenario_* marts and exports/scenarios/*.csv.",
)
def pricing_lab_scenarios(meterline: MeterlineResource):  # type: ignore[no-untyped-def]
    run = refresh_scenarios(meterline.settings())
    meta = {
        "scenarios": ", ".join(run.scenarios) or "none",
        "seconds": run.total_seconds,
        "rerate_seconds": ", ".join(f"{k}={v}" for k, v in run.seconds.items()),
        "reused": ", ".join(run.reused) or "none",
    }
    for key in SCENARIO_KEYS:
        yield dg.MaterializeResult(asset_key=key, metadata=meta)


SCENARIO_ASSETS: list[dg.AssetsDefinition] = [pricing_lab_scenarios]
