"""Rating scenarios through the real loader and dbt build: the customer time zone boundary,
proration and a mid-period plan change (separately tiered usage), count / count_unique / latest
meters, every kind of unpriced usage (never a 0 line; blocks the period), credit burn order and
expiry in the ledger, and traceability of invoice lines to their events."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from orchestration.config import Settings
from orchestration.warehouse import connect
from tests.support.rating import build_from_scenario, compile_analysis, mixed, query


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return build_from_scenario(tmp_path_factory.mktemp("mixed"), mixed())


def lines(s: Settings, invoice_id: str) -> list[tuple[Any, ...]]:
    return query(
        s,
        f"""
        select line_type, line_key, quantity, amount from marts.fct_invoice_lines
        where invoice_id = '{invoice_id}' order by line_no""",
    )


def invoice(s: Settings, invoice_id: str) -> tuple[Any, ...]:
    [row] = query(
        s,
        f"""
        select subtotal, credit_total, tax_total, total, is_blocked, blocked_reason
        from marts.fct_invoices where invoice_id = '{invoice_id}'""",
    )
    return row


def test_invoice_spine_runs_through_the_last_event_month_per_time_zone(built: Settings) -> None:
    # last event: 2026-11-01T02:30Z = Oct 31 in New York, Nov 1 in UTC
    assert query(built, "select invoice_id from marts.fct_invoices order by 1") == [
        ("cus_credit:2026-09",),
        ("cus_credit:2026-10",),
        ("cus_credit:2026-11",),
        ("cus_ny:2026-10",),
        ("cus_switch:2026-09",),
        ("cus_switch:2026-10",),
        ("cus_switch:2026-11",),
    ]


def test_new_york_boundary_proration_and_blocking(built: Settings) -> None:
    assert lines(built, "cus_ny:2026-10") == [
        ("subscription", "subscription:sub_ny:pro:v1", D("20"), D("63.87")),
        ("usage", "usage:sub_ny:llm_input_tokens:0:0", D("2000000"), D("0.30")),
        ("usage", "usage:sub_ny:llm_output_tokens:1:0", D("0"), D("0.00")),
        ("tax", "tax", D("64.17"), D("6.42")),
    ]
    assert invoice(built, "cus_ny:2026-10") == (
        D("64.17"),
        D("0.00"),
        D("6.42"),
        D("70.59"),
        True,
        "unpriced usage: gpu_seconds (no_charge_for_meter), images (no_subscription), "
        "llm_input_tokens (no_matching_price)",
    )


def test_unpriced_usage_lands_in_its_mart_never_on_a_line(built: Settings) -> None:
    rows = query(
        built,
        """
        select meter_code, unpriced_reason, dimensions, quantity, blocks_close
        from marts.fct_unpriced_usage order by meter_code""",
    )
    assert rows == [
        ("gpu_seconds", "no_charge_for_meter", "gpu_type=h100", D("3600"), True),
        ("images", "no_subscription", "", D("10"), True),
        ("llm_input_tokens", "no_matching_price", "model=llama-3-70b", D("500"), True),
        ("llm_output_tokens", "no_matching_price", "model=llama-3-70b", D("0"), False),
    ]
    assert query(
        built,
        """
        select count(*) from marts.fct_invoice_lines
        where customer_id = 'cus_ny'
          and (meter_code in ('gpu_seconds', 'images') or dimensions like '%llama%')""",
    ) == [(0,)]


def test_plan_change_two_prorated_fees_and_separately_tiered_usage(built: Settings) -> None:
    assert lines(built, "cus_switch:2026-09") == [
        ("subscription", "subscription:sub_sw_pro:pro:v1", D("16"), D("52.80")),
        ("tax", "tax", D("52.80"), D("0.00")),
    ]
    assert lines(built, "cus_switch:2026-10") == [
        ("subscription", "subscription:sub_sw_pro:pro:v1", D("19"), D("60.68")),
        ("subscription", "subscription:sub_sw_scale:scale:v1", D("12"), D("193.16")),
        ("usage", "usage:sub_sw_pro:images:2:0", D("100"), D("5.00")),  # graduated
        ("usage", "usage:sub_sw_scale:agent_workspaces:2:0", D("2"), D("4.00")),  # ws_a, ws_b
        ("usage", "usage:sub_sw_scale:gpu_seconds:4:0", D("0"), D("5.00")),  # first-tier fee
        ("usage", "usage:sub_sw_scale:images:0:0", D("200"), D("2.00")),  # per_unit
        ("usage", "usage:sub_sw_scale:resolved_tickets:1:0", D("3"), D("1.50")),  # filter
        ("usage", "usage:sub_sw_scale:storage_gb:3:0", D("80"), D("8.00")),  # latest, volume
        ("tax", "tax", D("279.34"), D("0.00")),
    ]
    assert invoice(built, "cus_switch:2026-10") == (
        D("279.34"),
        D("0.00"),
        D("0.00"),
        D("279.34"),
        False,
        None,
    )
    assert lines(built, "cus_switch:2026-11") == [
        ("subscription", "subscription:sub_sw_scale:scale:v1", D("30"), D("499.00")),
        ("usage", "usage:sub_sw_scale:gpu_seconds:4:0", D("0"), D("5.00")),
        ("tax", "tax", D("504.00"), D("0.00")),
    ]


def test_credit_burn_order_expiry_and_ledger(built: Settings) -> None:
    assert [invoice(built, f"cus_credit:2026-{m}")[:4] for m in ("09", "10", "11")] == [
        (D("99.00"), D("99.00"), D("0.00"), D("0.00")),  # promo g1 (priority 1) first
        (D("99.00"), D("30.00"), D("6.90"), D("75.90")),  # g1 expired 10-15: paid g2 only
        (D("99.00"), D("0.00"), D("9.90"), D("108.90")),
    ]
    ledger = query(
        built,
        """
        select ledger_entry_id, cast(entry_at as varchar), amount, grant_balance_after,
               customer_balance_after
        from marts.fct_credit_ledger
        order by entry_at, case entry_type when 'grant' then 1 when 'burn' then 2 else 3 end,
                 grant_id""",
    )
    assert ledger == [
        ("grant:g1_promo", "2026-09-01 00:00:00", D("120.00"), D("120.00"), D("120.00")),
        ("grant:g2_paid", "2026-09-01 00:00:00", D("30.00"), D("30.00"), D("150.00")),
        ("burn:g1_promo:2026-09", "2026-10-01 00:00:00", D("-99.00"), D("21.00"), D("51.00")),
        ("expiry:g1_promo", "2026-10-15 00:00:00", D("-21.00"), D("0.00"), D("30.00")),
        ("burn:g2_paid:2026-10", "2026-11-01 00:00:00", D("-30.00"), D("0.00"), D("0.00")),
    ]
    assert lines(built, "cus_credit:2026-10")[1] == ("credit", "credit", None, D("-30.00"))


def test_usage_daily_keeps_every_dimension_in_local_days(built: Settings) -> None:
    rows = query(
        built,
        """
        select customer_id, meter_code, cast(usage_date as varchar), model, quantity
        from marts.fct_usage_daily where customer_id = 'cus_ny' and meter_code like 'llm%'
        order by all""",
    )
    assert rows == [
        ("cus_ny", "llm_input_tokens", "2026-10-25", "llama-3-70b", D("500")),
        ("cus_ny", "llm_input_tokens", "2026-10-31", "gpt-4o-mini", D("2000000")),
        ("cus_ny", "llm_output_tokens", "2026-10-25", "llama-3-70b", D("0")),
        ("cus_ny", "llm_output_tokens", "2026-10-31", "gpt-4o-mini", D("0")),
    ]


def test_every_usage_line_traces_to_its_events(built: Settings) -> None:
    usage_lines = query(
        built,
        """
        select l.invoice_id, l.line_key, l.quantity, m.aggregation
        from marts.fct_invoice_lines l
        join staging.stg_reference__meters m on l.meter_code = m.meter_code
        where l.line_type = 'usage' order by 1, 2""",
    )
    assert len(usage_lines) == 9
    sql = compile_analysis(built, "invoice_line_events", {})  # no connection held during dbt
    with connect(built.warehouse, read_only=True) as con:
        events = con.execute(sql).fetchall()
    by_line: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for row in events:
        by_line.setdefault((row[0], row[1]), []).append(row)
    for invoice_id, line_key, quantity, aggregation in usage_lines:
        rows = by_line.get((invoice_id, line_key), [])  # none for a first-tier fee line
        event_quantities = [row[9] for row in rows]
        if aggregation in ("sum", "count"):
            assert sum(event_quantities) == quantity, (invoice_id, line_key)
        elif aggregation == "latest":
            assert event_quantities[-1] == quantity
        else:  # count_unique: distinct workspaces of the traced events
            assert sorted(row[3] for row in rows) == ["sw3", "sw4", "sw5", "sw6"]
            assert quantity == 2  # ws_a, ws_b
    sql = compile_analysis(
        built,
        "invoice_line_events",
        {"invoice_id": "cus_switch:2026-10", "line_key": "usage:sub_sw_scale:resolved_tickets:1:0"},
    )
    with connect(built.warehouse, read_only=True) as con:
        traced = con.execute(sql).fetchall()
    assert [(r[3], r[9]) for r in traced] == [("sw3", 1), ("sw4", 1), ("sw6", 1)]


def test_tiered_and_count_lines_state_their_basis(built: Settings) -> None:
    rows = query(
        built,
        """
        select line_key, description from marts.fct_invoice_lines
        where invoice_id = 'cus_switch:2026-10' and line_type = 'usage' order by line_no""",
    )
    assert rows == [
        ("usage:sub_sw_pro:images:2:0", "Images · graduated: 100 × 0.05"),
        ("usage:sub_sw_scale:agent_workspaces:2:0", "Active agent workspaces · 2.00 per workspace"),
        ("usage:sub_sw_scale:gpu_seconds:4:0", "GPU seconds · graduated: 5.00"),  # first-tier fee
        ("usage:sub_sw_scale:images:0:0", "Images · 0.01 per image"),
        ("usage:sub_sw_scale:resolved_tickets:1:0", "Resolved tickets · 0.50 per ticket"),
        ("usage:sub_sw_scale:storage_gb:3:0", "Storage · volume: 80 × 0.10"),
    ]


def test_quantity_conservation_test_catches_a_lost_quantity(
    built: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The dbt test assert_usage_quantity_conserved fails for exactly the meters whose billed
    quantity no longer matches their events: a filtered meter (resolved_tickets, whose filter is
    checked on its own rows only) and an unfiltered one (images). Run on a copy."""
    import shutil

    from orchestration.config import settings
    from orchestration.dbt_runner import run_dbt

    data = tmp_path_factory.mktemp("conserved") / "data"
    data.mkdir()
    shutil.copy(built.warehouse, data / "warehouse.duckdb")
    s = settings(data)
    work = data.parent / "dbt"
    run_dbt(
        s,
        "compile",
        "--select",
        "assert_usage_quantity_conserved",
        "--quiet",
        extra_env={"DBT_TARGET_PATH": str(work / "target"), "DBT_LOG_PATH": str(work / "logs")},
        at_warehouse=True,
    )
    [sql_path] = (work / "target" / "compiled").rglob("assert_usage_quantity_conserved.sql")
    sql = sql_path.read_text()
    failing = f"select meter_code from ({sql}) order by meter_code"
    assert query(s, failing) == []
    with connect(s.warehouse) as con:
        lost = con.execute(
            "update intermediate.int_billing_usage_rated set quantity = quantity - 1 "
            "where meter_code in ('resolved_tickets', 'images') and quantity >= 1"
        ).fetchall()
    assert lost[0][0] >= 2
    assert query(s, failing) == [("images",), ("resolved_tickets",)]
