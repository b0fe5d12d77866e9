"""`meterline simulate`'s headline never adds amounts of two currencies: one line per period and
invoice currency, the largest changes ranked within each currency, amounts in the currency's
minor units (JPY whole yen). Hand-made scenario marts, no pipeline: a USD customer and a JPY
customer on the same scenario."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb

from orchestration.scenarios import headline


def _warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    con.execute("create schema raw; create schema marts")
    con.execute(
        """create table raw.scenarios as select 'cut' as scenario, 'Cut' as scenario_name,
        'a price cut' as description, '2026-10' as period_from, '2026-10' as period_to,
        'all' as customer_scope, null as move_to_plan, null as plan_files"""
    )
    # revenue / margin: USD 100.00 -> 90.00 (margin 60.00 -> 50.00); JPY 15000 -> 14000
    # (margin 9000 -> 8000)
    con.execute(
        """create table marts.fct_scenario_customer_margin as select * from (values
        ('cut', 'cus_usd', '2026-10', 'startup', 'USD', 100.00, 90.00, 40.00, 40.00, 60.00,
         50.00, 60.00, 55.56, 40.00, false, 'ok', 'ok'),
        ('cut', 'cus_jpy', '2026-10', 'startup', 'JPY', 15000.00, 14000.00, 6000.00, 6000.00,
         9000.00, 8000.00, 60.00, 57.14, 40.00, false, 'ok', 'ok'))
        as t(scenario, customer_id, period, segment, currency, current_revenue, simulated_revenue,
             current_cogs, simulated_cogs,
             current_gross_margin, simulated_gross_margin, current_margin_pct,
             simulated_margin_pct, margin_target_pct, falls_below_target, current_margin_flag,
             simulated_margin_flag)"""
    )
    con.execute(
        """create table marts.fct_scenario_invoices as select * from (values
        ('cut', 'cus_usd', '2026-10', 'startup', 'USD', 120.00, 108.00, -12.00, -10.00,
         'decrease', false, 20),
        ('cut', 'cus_jpy', '2026-10', 'startup', 'JPY', 16500.00, 15400.00, -1100.00,
         -6.67, 'decrease', false, 20))
        as t(scenario, customer_id, period, segment, currency, current_total,
             simulated_total, total_difference, total_difference_pct, impact, is_bill_shock,
             bill_shock_threshold_pct)"""
    )
    con.execute(
        """create table marts.fct_scenario_margin as select * from (values
        ('cut', 'cus_usd', '2026-10', 'USD', 'gpt-4o', 40.00, 30.00, 40.00, 40.00),
        ('cut', 'cus_jpy', '2026-10', 'JPY', 'gpt-4o', 6000.00, 5000.00, 6000.00, 6000.00))
        as t(scenario, customer_id, period, currency, model, current_revenue, simulated_revenue,
             current_cogs, simulated_cogs)"""
    )
    return con


def test_headline_is_per_currency_with_its_minor_units(tmp_path: Path) -> None:
    con = _warehouse(tmp_path / "w.duckdb")
    out = headline(con, "cut")
    lines = out.splitlines()
    # 60/100 = 60.0 % -> 50/90 = 55.6 %; 9000/15000 = 60.0 % -> 8000/14000 = 57.1 %
    assert (
        "2026-10  JPY        15,000        14,000       -1,000         9,000         8,000"
        "    60.0% -> 57.1%" in lines
    )
    assert (
        "2026-10  USD        100.00         90.00       -10.00         60.00         50.00"
        "    60.0% -> 55.6%" in lines
    )
    assert any(line.startswith("all      JPY        15,000") for line in lines)
    # no line adds the two currencies (15,100.00 would be yen plus dollars)
    assert "15,100" not in out
    assert "  cus_jpy                2026-10 startup     JPY      16,500 ->      15,400" in out
    assert "  cus_usd                2026-10 startup     USD      120.00 ->      108.00" in out
    assert "  gpt-4o                 JPY revenue       6,000 ->       5,000" in out


def test_dashboard_totals_read_the_currency_of_the_scenario_marts(tmp_path: Path) -> None:
    """The Pricing lab page's totals and margin by model for one currency come from the
    scenario marts' own currency column (no join to the customers)."""
    from dashboards import data_access as da

    path = tmp_path / "w.duckdb"
    _warehouse(path).close()
    snap = da.snapshot(path)
    jpy = da.scenario_totals(snap, "cut", "2026-10", "JPY").to_dicts()
    assert [
        (r["current_revenue"], r["simulated_revenue"], r["current_margin"], r["simulated_margin"])
        for r in jpy
    ] == [(Decimal("15000.00"), Decimal("14000.00"), Decimal("9000.00"), Decimal("8000.00"))]
    assert jpy[0]["current_billed"] == Decimal("16500.00")
    usd = da.scenario_totals(snap, "cut", "2026-10", "USD").to_dicts()
    assert (usd[0]["current_revenue"], usd[0]["simulated_margin_pct"]) == (
        Decimal("100.00"),
        Decimal("55.56"),
    )
    models = da.scenario_model_margin(snap, "cut", "2026-10", "JPY").to_dicts()
    assert [(r["model"], r["currency"], r["current_revenue"]) for r in models] == [
        ("gpt-4o", "JPY", Decimal("6000.00"))
    ]
