"""Customer: usage by meter and model, spend to date vs budget and thresholds, projected
month-end, credit balance and projected exhaustion, contract progress."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboards import components as ui
from dashboards import data_access as da
from dashboards import formatting as fmt

CONTRACT_MONEY = [
    "committed_amount",
    "consumed_to_date",
    "straight_line_to_date",
    "pace_variance",
    "projected_spend",
    "projected_shortfall",
]


def _usage(snap: da.Snapshot, customer_id: str, period: str) -> None:
    usage = da.customer_usage(snap, customer_id, period)
    ui.show_table(
        usage, quantities=["quantity"], key="customer_usage", empty="No usage in this period."
    )
    daily = da.customer_usage_daily(snap, customer_id, period)
    if daily.is_empty():
        return
    meters = daily.get_column("meter_code").unique().sort().to_list()
    meter = st.selectbox("Daily usage of meter", meters, key="customer_meter")
    chart = (
        alt.Chart(
            ui.chart_frame(daily.filter(pl.col("meter_code") == meter), ["quantity"]).to_pandas()
        )
        .mark_bar()
        .encode(
            x=alt.X("usage_date:T", title="Day"),
            y=alt.Y("quantity:Q", title=f"{meter} per day"),
            tooltip=["usage_date", "meter_code", alt.Tooltip("quantity:Q", format=",")],
        )
        .properties(height=240)
    )
    st.altair_chart(chart, width="stretch")


def _invoice(snap: da.Snapshot, customer_id: str, period: str) -> None:
    invoice = da.customer_invoice(snap, customer_id, period)
    if invoice.is_empty():
        st.caption("No invoice for this customer and period.")
        return
    row = invoice.row(0, named=True)
    cols = st.columns(3)
    cols[0].metric("Invoice subtotal", fmt.money(row["subtotal"], row["currency"]))
    cols[1].metric("Invoice total", fmt.money(row["total"], row["currency"]))
    cols[2].metric("Invoice status", row["status"] + (" · blocked" if row["is_blocked"] else ""))


def _budget_chart(daily: pl.DataFrame, thresholds: pl.DataFrame) -> None:
    spend = (
        alt.Chart(ui.chart_frame(daily, ["spend_to_date"]).to_pandas())
        .mark_line(point=True)
        .encode(
            x=alt.X("spend_date:T", title="Day"),
            y=alt.Y("spend_to_date:Q", title="Spend to date", axis=alt.Axis(format="$,.0f")),
            tooltip=["spend_date", alt.Tooltip("spend_to_date:Q", format="$,.2f")],
        )
    )
    rules = thresholds.select(
        pl.col("threshold_amount").cast(pl.Float64),
        (pl.col("threshold_pct").cast(pl.String) + "%").alias("threshold"),
    ).drop_nulls()
    layers = [spend]
    if not rules.is_empty():
        layers.append(
            alt.Chart(rules.to_pandas())
            .mark_rule(strokeDash=[4, 4])
            .encode(
                y="threshold_amount:Q",
                color=alt.Color("threshold:N", title="Threshold"),
                tooltip=["threshold", alt.Tooltip("threshold_amount:Q", format="$,.2f")],
            )
        )
    st.altair_chart(alt.layer(*layers), width="stretch")


def _budget(snap: da.Snapshot, customer_id: str, period: str) -> None:
    budget = da.customer_budget(snap, customer_id, period)
    if budget.is_empty():
        st.caption("No spend rows for this customer and period.")
        return
    row = budget.row(0, named=True)
    currency = row["currency"]
    crossed = budget.filter(pl.col("is_crossed"))
    cols = st.columns(4)
    cols[0].metric(
        "Spend to date",
        fmt.money(row["spend_to_date"], currency),
        help=f"through {row['evaluated_through']}",
    )
    label = "Monthly budget" if row["baseline_source"] == "budget" else "Baseline"
    cols[1].metric(
        label,
        fmt.money(row["baseline_amount"], currency),
        help=f"baseline: {row['baseline_source']}",
    )
    cols[2].metric("Projected month-end", fmt.money(row["projected_period_spend"], currency))
    cols[3].metric(
        "Highest threshold crossed",
        fmt.percent(crossed.get_column("threshold_pct").max(), 0)
        if not crossed.is_empty()
        else "none",
    )
    if row["hard_limit_breached"]:
        st.error(
            f"Hard limit breached on {row['hard_limit_breached_on']}: spend is above the "
            f"monthly budget of {fmt.money(row['monthly_budget'], currency)}."
        )
    projected = budget.filter(pl.col("is_projected_to_cross"))
    if not projected.is_empty():
        pcts = ", ".join(f"{p}%" for p in projected.get_column("threshold_pct").to_list())
        st.warning(f"Projected to cross by month-end: {pcts}.")
    with ui.section():
        _budget_chart(da.customer_daily_spend(snap, customer_id, period), budget)
    ui.show_table(
        budget.select(
            "threshold_pct",
            "threshold_amount",
            "is_crossed",
            "crossed_on",
            "is_projected_to_cross",
            "currency",
        ),
        money=["threshold_amount"],
        key="customer_thresholds",
    )


def _credits(snap: da.Snapshot, customer_id: str) -> None:
    with ui.section():
        grants = da.credit_balance(snap, customer_id)
        currency = ui.customer_currency(snap, customer_id)
        if grants.is_empty():
            st.caption("No credit grants.")
        else:
            cols = st.columns(3)
            cols[0].metric(
                "Credit balance", fmt.money(grants.get_column("balance").sum(), currency)
            )
            cols[1].metric(
                "Available after pending burn",
                fmt.money(grants.get_column("available_balance").sum(), currency),
            )
            dates = grants.get_column("projected_exhaustion_date").drop_nulls()
            cols[2].metric(
                "Projected exhaustion",
                str(dates.max())
                if dates.len() == grants.height
                else (
                    str(dates.max()) + " (some grants expire first)"
                    if dates.len()
                    else "not projected"
                ),
            )
            ui.show_table(
                grants.with_columns(pl.lit(currency).alias("currency")),
                money=[
                    "balance",
                    "pending_burn",
                    "available_balance",
                    "burn_rate_daily",
                    "projected_unused_at_expiry",
                ],
                key="credit_grants",
            )
    with ui.section():
        ledger = da.credit_ledger(snap, customer_id)
        if not ledger.is_empty():
            last = ledger.row(ledger.height - 1, named=True)
            st.metric(
                "Credit balance per ledger",
                fmt.money(last["customer_balance_after"], last["currency"]),
                help=f"after the last ledger entry ({last['entry_at']})",
            )
        ui.show_table(
            ledger,
            money=["amount", "grant_balance_after", "customer_balance_after"],
            key="credit_ledger",
            empty="No credit entries.",
        )


def _contracts(snap: da.Snapshot, customer_id: str) -> None:
    progress = da.contract_progress(snap, customer_id)
    ui.show_table(
        progress.drop("customer_id"),
        money=CONTRACT_MONEY,
        percents=["pace_pct"],
        key="customer_contracts",
        empty="No contract.",
    )


def render() -> None:
    st.title("Customer")
    snap = ui.current_snapshot()
    customer_id, period = ui.selected_customer(), ui.require_period()
    if period is None:
        return
    if customer_id is None:
        st.info("No customers in the warehouse yet.")
        return
    st.markdown(f"**{customer_id}** · {period}")
    with ui.section("Usage by meter and model"):
        _usage(snap, customer_id, period)
    with ui.section("Spend vs budget"):
        _invoice(snap, customer_id, period)
        with ui.section():
            _budget(snap, customer_id, period)
    with ui.section("Credits"):
        _credits(snap, customer_id)
    with ui.section("Contract progress"):
        _contracts(snap, customer_id)


render()
