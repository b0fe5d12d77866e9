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


def _budget(snap: da.Snapshot, customer_id: str, period: str, is_open: bool) -> None:
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
    if is_open:
        cols[2].metric("Projected month-end", fmt.money(row["projected_period_spend"], currency))
    else:
        cols[2].metric("Month-end spend", fmt.money(row["spend_to_date"], currency))
    cols[3].metric(
        "Highest threshold crossed",
        fmt.percent(crossed.get_column("threshold_pct").max(), 0)
        if not crossed.is_empty()
        else "none",
    )
    if row["hard_limit_breached"]:
        st.error(
            fmt.md_escape(
                f"Hard limit breached on {row['hard_limit_breached_on']}: spend is above the "
                f"monthly budget of {fmt.money(row['monthly_budget'], currency)}."
            )
        )
    projected = budget.filter(pl.col("is_projected_to_cross"))
    if is_open and not projected.is_empty():
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
            *(["is_projected_to_cross"] if is_open else []),
            "currency",
        ),
        money=["threshold_amount"],
        percents=["threshold_pct"],
        key="customer_thresholds",
    )


def _credits(snap: da.Snapshot, customer_id: str) -> None:
    """The balance is the ledger's (issued burns, grants, expiries): the grants' projection
    (fct_credit_balances) is shown only when it is as of the ledger's last entry or later, and
    an exhaustion date only when it is ahead of both."""
    currency = ui.customer_currency(snap, customer_id)
    ledger = da.credit_ledger(snap, customer_id)
    unavailable = None
    try:
        grants = da.credit_balance(snap, customer_id)
    except (da.MartMissing, da.MartIncompatible) as exc:
        grants, unavailable = pl.DataFrame(), str(exc)
    if ledger.is_empty() and grants.is_empty():
        st.caption("No credit grants.")
        if unavailable:
            st.info(unavailable)
        return
    last_entry = ledger.get_column("entry_at").max() if ledger.height else None
    balance = (
        ledger.row(ledger.height - 1, named=True)["customer_balance_after"]
        if ledger.height
        else None
    )
    cols = st.columns(3)
    cols[0].metric(
        "Credit balance (ledger)",
        fmt.money(balance, currency),
        help=f"after the ledger's last entry ({last_entry})",
    )
    as_of = grants.get_column("balance_date").max() if grants.height else None
    current = as_of is not None and (last_entry is None or as_of >= last_entry)
    if current and balance:
        cols[1].metric(
            "Available after pending burn",
            fmt.money(grants.get_column("available_balance").sum(), currency),
            help=f"the open period's spend to {as_of} not yet burned by an invoice",
        )
        dates = grants.get_column("projected_exhaustion_date").drop_nulls()
        ahead = dates.filter(dates > as_of)
        cols[2].metric(
            "Projected exhaustion",
            str(ahead.max()) if ahead.len() else "not projected",
            help=f"at the burn rate of the last days, from {as_of}",
        )
    elif balance == 0 and ledger.height:
        emptied = ledger.filter(pl.col("customer_balance_after") == 0).get_column("entry_at").min()
        cols[1].metric("Credits used up on", str(emptied))
    elif unavailable:
        st.info(unavailable)
    elif as_of is not None:
        cols[1].metric("As of", str(last_entry))
        st.caption(
            fmt.md_escape(
                f"The grants' projection is as of {as_of}, before the ledger's last entry "
                f"({last_entry}): not shown until the next run evaluates past it."
            )
        )
    ui.show_table(
        ledger,
        money=["amount", "grant_balance_after", "customer_balance_after"],
        key="credit_ledger",
        hide=["invoice_id"],
        empty="No credit entries.",
    )


def _contracts(snap: da.Snapshot, customer_id: str) -> None:
    progress = da.contract_progress(snap, customer_id)
    ui.show_table(
        progress.drop("customer_id", "customer_name"),
        money=CONTRACT_MONEY,
        percents=["pace_pct"],
        key="customer_contracts",
        empty="No contract.",
    )


def _trend(snap: da.Snapshot, customer_id: str) -> None:
    trend = da.customer_trend(snap, customer_id)
    if trend.is_empty():
        st.caption("No margin rows for this customer.")
    else:
        cols = st.columns([1, 1])
        with cols[0]:
            ui.trend_chart(snap, trend, height=240)
        with cols[1]:
            ui.show_table(
                trend,
                money=["revenue", "cogs", "gross_margin"],
                percents=["margin_pct"],
                key="customer_trend",
            )
    usage = da.customer_usage_trend(snap, customer_id)
    if usage.height:
        st.caption("Usage per meter and month")
        wide = usage.pivot(on="period", index=["meter_code", "unit"], values="quantity").sort(
            "meter_code"
        )
        ui.show_table(wide, currency_column=None, key="customer_usage_trend")


def _history(snap: da.Snapshot, customer_id: str) -> None:
    ui.show_table(
        da.customer_invoices(snap, customer_id),
        money=["subtotal", "credit_total", "tax_total", "total"],
        hide=["invoice_id"],
        key="customer_invoices",
        empty="No invoices.",
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
    person = ui.customer_row(snap, customer_id)
    info = ui.period_info(snap, period)
    st.text(
        f"{ui.customer_label(person.get('customer_name'), customer_id)} · "
        f"{ui.period_label(snap, period)}"
    )
    ui.period_notice(snap, period)
    with ui.section("Months: revenue, COGS, margin and usage"):
        _trend(snap, customer_id)
    with ui.section("Invoice history"):
        _history(snap, customer_id)
    with ui.section(f"Usage by meter and model — {period}"):
        _usage(snap, customer_id, period)
    with ui.section(f"Spend vs budget — {period}"):
        _invoice(snap, customer_id, period)
        with ui.section():
            _budget(snap, customer_id, period, bool(info.get("is_open", True)))
    with ui.section("Credits"):
        _credits(snap, customer_id)
    with ui.section("Contract progress"):
        _contracts(snap, customer_id)


render()
