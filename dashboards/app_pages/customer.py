"""Customer: usage by meter and model, spend to date vs budget and thresholds, projected
month-end, credit balance and projected exhaustion, contract progress."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboards import components as ui
from dashboards import data_access as da
from dashboards import formatting as fmt


def _usage(snap: da.Snapshot, customer_id: str, period: str) -> None:
    usage = da.customer_usage(snap, customer_id, period)
    ui.show_table(
        usage, quantities=["quantity"], key="customer_usage", empty="No usage in this period."
    )
    daily = da.customer_usage_daily(snap, customer_id, period)
    if daily.is_empty():
        return
    chart = (
        alt.Chart(ui.chart_frame(daily, ["quantity"]).to_pandas())
        .mark_line(point=True)
        .encode(
            x=alt.X("usage_date:T", title="Day"),
            y=alt.Y("quantity:Q", title="Quantity"),
            color=alt.Color("meter_code:N", title="Meter"),
            tooltip=["usage_date", "meter_code", "quantity"],
        )
        .resolve_scale(y="independent")
    )
    st.altair_chart(chart, width="stretch")


def _spend(snap: da.Snapshot, customer_id: str, period: str) -> None:
    invoice = da.customer_invoice(snap, customer_id, period)
    if invoice.is_empty():
        st.caption("No invoice for this customer and period.")
    else:
        row = invoice.row(0, named=True)
        cols = st.columns(3)
        cols[0].metric("Spend to date (subtotal)", fmt.money(row["subtotal"], row["currency"]))
        cols[1].metric("Invoice total", fmt.money(row["total"], row["currency"]))
        cols[2].metric("Status", row["status"] + (" · blocked" if row["is_blocked"] else ""))
    with ui.section():
        budget = da.customer_budget(snap, customer_id, period)
        if budget.is_empty():
            st.caption("No budget alerts for this customer and period.")
            return
        last = budget.row(budget.height - 1, named=True)
        cols = st.columns(3)
        cols[0].metric("Monthly budget", fmt.money(last["monthly_budget"], last["currency"]))
        cols[1].metric(
            "Projected month-end", fmt.money(last["projected_month_end"], last["currency"])
        )
        crossed = budget.filter(pl.col("threshold_pct").is_not_null())
        cols[2].metric(
            "Highest threshold crossed",
            fmt.percent(crossed.get_column("threshold_pct").max(), 0)
            if not crossed.is_empty()
            else "none",
        )
        ui.show_table(
            budget.drop("customer_id", "period"),
            money=["spend_to_date", "monthly_budget", "projected_month_end"],
            key="customer_budget",
        )


def _credits(snap: da.Snapshot, customer_id: str) -> None:
    with ui.section():
        balance = da.credit_balance(snap, customer_id)
        if balance.is_empty():
            st.caption("No credit grants.")
        else:
            row = balance.row(0, named=True)
            cols = st.columns(2)
            cols[0].metric("Credit balance", fmt.money(row["balance"], row["currency"]))
            exhaustion = row["projected_exhaustion_date"]
            shown = str(exhaustion) if exhaustion else "not projected"
            cols[1].metric("Projected exhaustion", shown)
    with ui.section():
        ledger = da.credit_ledger(snap, customer_id)
        money_cols = [c for c in ledger.columns if c in {"amount", "balance", "running_balance"}]
        ui.show_table(ledger, money=money_cols, key="credit_ledger", empty="No credit entries.")


def _contracts(snap: da.Snapshot, customer_id: str) -> None:
    progress = da.contract_progress(snap, customer_id)
    ui.show_table(
        progress.drop("customer_id"),
        money=[
            "commit_amount",
            "consumed_to_date",
            "expected_to_date",
            "projected_consumption",
            "true_up_amount",
        ],
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
        _spend(snap, customer_id, period)
    with ui.section("Credits"):
        _credits(snap, customer_id)
    with ui.section("Contract progress"):
        _contracts(snap, customer_id)


render()
