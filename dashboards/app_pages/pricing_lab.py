"""Pricing lab: a scenario of reference/scenarios/ (re-rated by the billing models on real
history) against the current prices: revenue and margin, who pays more or less, the bill
shocks, the customers it takes below their segment's margin target, and the distribution of
the changes."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboards import components as ui
from dashboards import data_access as da
from dashboards import formatting as fmt

CUSTOMER_MONEY = ["current_total", "simulated_total", "total_difference"]
CUSTOMER_PERCENTS = [
    "total_difference_pct",
    "current_margin_pct",
    "simulated_margin_pct",
    "margin_target_pct",
]


def _delta(new: object, old: object, currency: str) -> str:
    diff = (new or 0) - (old or 0)  # type: ignore[operator]
    return ("+" if diff > 0 else "") + fmt.money(diff, currency)


def _headline(totals: dict[str, object], currency: str) -> None:
    cols = st.columns(4)
    cols[0].metric(
        "Revenue (simulated)",
        fmt.money(totals["simulated_revenue"], currency),  # type: ignore[arg-type]
        _delta(totals["simulated_revenue"], totals["current_revenue"], currency),
        help=f"Current: {fmt.money(totals['current_revenue'], currency)}",  # type: ignore[arg-type]
    )
    cols[1].metric(
        "Gross margin (simulated)",
        fmt.money(totals["simulated_margin"], currency),  # type: ignore[arg-type]
        _delta(totals["simulated_margin"], totals["current_margin"], currency),
        help=f"Current: {fmt.money(totals['current_margin'], currency)}",  # type: ignore[arg-type]
    )
    cur, sim = totals["current_margin_pct"], totals["simulated_margin_pct"]
    cols[2].metric(
        "Margin % (simulated)",
        "n/a" if sim is None else f"{sim}%",
        None if sim is None or cur is None else f"{sim - cur:+.2f} pts",  # type: ignore[operator]
        help=f"Current: {cur}%",
    )
    cols[3].metric(
        "Bill shocks",
        f"{totals['bill_shocks']}",
        help=f"Invoices rising by more than {totals['bill_shock_threshold_pct']}%",
        delta_color="off",
    )
    st.caption(
        f"Invoices: **{totals['worse_off']}** pay more, **{totals['better_off']}** pay less, "
        f"**{totals['unchanged']}** unchanged · customers falling below their segment's margin "
        f"target: **{totals['below_target']}**"
    )


def _comparison_chart(totals: dict[str, object], currency: str) -> None:
    frame = pl.DataFrame(
        {
            "measure": ["Revenue", "Revenue", "Gross margin", "Gross margin"],
            "side": ["current", "simulated", "current", "simulated"],
            "amount": [
                float(totals["current_revenue"] or 0),  # type: ignore[arg-type]
                float(totals["simulated_revenue"] or 0),  # type: ignore[arg-type]
                float(totals["current_margin"] or 0),  # type: ignore[arg-type]
                float(totals["simulated_margin"] or 0),  # type: ignore[arg-type]
            ],
        }
    )
    chart = (
        alt.Chart(frame.to_pandas())
        .mark_bar()
        .encode(
            x=alt.X(
                "measure:N",
                title=None,
                sort=["Revenue", "Gross margin"],
                axis=alt.Axis(labelAngle=0),
            ),
            xOffset=alt.XOffset("side:N", sort=["current", "simulated"]),
            y=alt.Y("amount:Q", title=currency, axis=alt.Axis(format=",.0f")),
            color=alt.Color(
                "side:N",
                title=None,
                scale=alt.Scale(domain=["current", "simulated"], range=["#9aa5b1", "#1f77b4"]),
            ),
            tooltip=["measure", "side", alt.Tooltip("amount:Q", title=currency, format=",.2f")],
        )
        .properties(height=260)
    )
    st.altair_chart(chart, width="stretch")


def _distribution(customers: pl.DataFrame) -> None:
    pct = customers.filter(pl.col("total_difference_pct").is_not_null()).select(
        pl.col("total_difference_pct").cast(pl.Float64).alias("change_pct"),
        pl.when(pl.col("is_bill_shock"))
        .then(pl.lit("bill shock"))
        .otherwise(pl.lit("no"))
        .alias("bill_shock"),
    )
    if pct.is_empty():
        st.caption("No invoice with a current total to compare.")
        return
    chart = (
        alt.Chart(pct.to_pandas())
        .mark_bar()
        .encode(
            x=alt.X(
                "change_pct:Q",
                bin=alt.Bin(maxbins=30),
                title="Change of the bill (%)",
                axis=alt.Axis(format="+.2f"),
            ),
            y=alt.Y("count():Q", title="Customers"),
            color=alt.Color(
                "bill_shock:N",
                title=None,
                scale=alt.Scale(domain=["no", "bill shock"], range=["#1f77b4", "#d62728"]),
            ),
            tooltip=[alt.Tooltip("count():Q", title="Customers")],
        )
        .properties(height=260)
    )
    st.altair_chart(chart, width="stretch")


def _page(snap: da.Snapshot) -> None:
    known = da.scenarios(snap)
    if known.is_empty():
        st.info(
            "No scenario results yet: add reference/scenarios/<name>.yml and run "
            "`meterline run` or `meterline simulate <name>`."
        )
        return
    names = dict(zip(known["scenario"], known["scenario_name"], strict=True))
    left, right = st.columns([3, 1])
    scenario = left.selectbox(
        "Scenario", list(names), format_func=lambda s: f"{names[s]} ({s})", key="lab_scenario"
    )
    meta = known.filter(pl.col("scenario") == scenario).row(0, named=True)
    options = da.scenario_periods(snap, scenario)
    picked = ui.selected_period()
    period = right.selectbox(
        "Period",
        options,
        index=options.index(picked) if picked in options else 0,
        key=f"lab_period_{scenario}",
        help="A billing month the scenario re-rated (the sidebar's period when it is one).",
    )
    if meta["description"]:
        st.caption(meta["description"])
    st.caption(
        f"Re-rated periods {meta['period_from']} – {meta['period_to']} · customers: "
        f"{meta['customer_scope']}"
        + (f" · moved to plan {meta['move_to_plan']}" if meta["move_to_plan"] else "")
        + " · current = today's data at current prices, by the same billing models"
    )
    if period is None:
        return
    # totals are per invoice currency: a yen and a dollar are never added
    currencies = da.scenario_currencies(snap, scenario, period) or ["USD"]
    currency = currencies[0]
    if len(currencies) > 1:
        currency = st.radio(
            "Currency",
            currencies,
            horizontal=True,
            key=f"lab_currency_{scenario}_{period}",
            help="Invoices in each currency are totalled apart (no conversion of revenue).",
        )
    totals = da.scenario_totals(snap, scenario, period, currency).row(0, named=True)
    _headline(totals, currency)
    customers = da.scenario_customers(snap, scenario, period).filter(pl.col("currency") == currency)
    chart_col, dist_col = st.columns(2)
    with chart_col:
        st.subheader("Current vs simulated")
        _comparison_chart(totals, currency)
    with dist_col:
        st.subheader("Distribution of bill changes")
        _distribution(customers)
    st.subheader("Customers by impact")
    ui.show_table(
        customers,
        money=CUSTOMER_MONEY,
        percents=CUSTOMER_PERCENTS,
        key="lab_customers",
        empty="No invoices in this period.",
    )
    st.subheader("Margin by model")
    ui.show_table(
        da.scenario_model_margin(snap, scenario, period, currency),
        money=["current_revenue", "simulated_revenue", "current_cogs", "simulated_cogs"],
        percents=["current_margin_pct", "simulated_margin_pct"],
        key="lab_models",
        empty="No margin rows in this period.",
    )
    st.caption(
        "Largest change of margin first. (non-usage): fees and commitments; (none): usage "
        "without a model; shared costs under their service name."
    )
    st.subheader("Bill shocks")
    ui.show_table(
        da.scenario_bill_shocks(snap, scenario, period).filter(pl.col("currency") == currency),
        money=CUSTOMER_MONEY,
        percents=["total_difference_pct"],
        key="lab_shocks",
        empty="No customer's bill rises by more than the bill-shock threshold.",
    )


def main() -> None:
    st.title("Pricing lab")
    snap = ui.current_snapshot()
    with ui.section():
        _page(snap)


main()
