"""COGS & margin: cost by provider, model, feature and customer; direct vs allocated; the
selected customer's margin per model; what providers billed; reconciliation per provider ×
model × day with under-metered days highlighted."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboards import components as ui
from dashboards import data_access as da
from dashboards import formatting as fmt

MONEY = ["cogs_direct", "cogs_allocated", "cogs_total"]
MARGIN_MONEY = ["revenue", "cogs_direct", "cogs_allocated", "cogs_total", "gross_margin"]
RECON_MONEY = ["expected_cost", "billed_cost", "cost_difference"]
RECON_QUANTITIES = ["metered_tokens", "reported_tokens", "token_difference"]
STATUSES = ["matched", "under_metered", "over_metered", "over_billed", "under_billed", "unpriced"]
STATUS_COLORS = alt.Scale(
    domain=STATUSES, range=["#4c9a2a", "#d62728", "#9467bd", "#f2a900", "#1f77b4", "#7f7f7f"]
)


def _breakdown(snap: da.Snapshot, period: str) -> None:
    by_provider = da.cogs_by(snap, period, "provider")
    if by_provider.is_empty():
        st.caption("No attributed COGS in this period.")
        return
    totals = by_provider.select(pl.col(MONEY).sum()).row(0, named=True)
    cols = st.columns(3)
    cols[0].metric("COGS", fmt.money(totals["cogs_total"]))
    cols[1].metric("Direct", fmt.money(totals["cogs_direct"]))
    cols[2].metric("Allocated (shared)", fmt.money(totals["cogs_allocated"]))
    tabs = st.tabs(["By provider", "By model", "By feature", "By customer"])
    for tab, dimension in zip(tabs, ["provider", "model", "feature", "customer"], strict=True):
        with tab, ui.section():
            df = by_provider if dimension == "provider" else da.cogs_by(snap, period, dimension)
            long = (
                ui.chart_frame(df, MONEY)
                .unpivot(
                    index=[dimension],
                    on=["cogs_direct", "cogs_allocated"],
                    variable_name="kind",
                    value_name="amount",
                )
                .with_columns(
                    pl.col("kind").replace_strict(
                        {"cogs_direct": "Direct", "cogs_allocated": "Allocated (shared)"}
                    )
                )
            )
            chart = (
                alt.Chart(long.to_pandas())
                .mark_bar()
                .encode(
                    y=alt.Y(f"{dimension}:N", sort="-x", title=None, axis=alt.Axis(labelLimit=240)),
                    x=alt.X("amount:Q", title="COGS", axis=alt.Axis(format="$,.0f")),
                    color=alt.Color("kind:N", title=None),
                    tooltip=[
                        alt.Tooltip(f"{dimension}:N", title=dimension.capitalize()),
                        alt.Tooltip("kind:N", title="COGS"),
                        alt.Tooltip("amount:Q", title="Amount", format="$,.2f"),
                    ],
                )
            )
            st.altair_chart(chart, width="stretch")
            ui.show_table(df, money=MONEY, currency_column=None, key=f"cogs_{dimension}")


def _model_margin(snap: da.Snapshot, customer_id: str | None, period: str) -> None:
    if customer_id is None:
        st.caption("Pick a customer in the sidebar to see its margin per model.")
        return
    ui.show_table(
        da.model_margin(snap, customer_id, period),
        money=MARGIN_MONEY,
        percents=["margin_pct", "markup_pct"],
        currency_column=None,
        key="model_margin",
        empty=f"No margin rows for {customer_id} in {period}.",
    )
    st.caption(
        "Usage revenue split by quantity, discount and promotional credits allocated to the "
        "cent. (non-usage): subscription fees and minimum commitments; (none): usage without a "
        "model (GPU, tickets, storage); shared costs under their service name."
    )


def _unattributed(snap: da.Snapshot, period: str) -> None:
    rest = da.unattributed_cogs(snap, period)
    if rest.is_empty():
        st.caption("Every billed provider cost of the month is attributed to a customer.")
        return
    st.warning(
        fmt.md_escape(
            "Unattributed provider cost (billed, no metered usage): "
            f"{fmt.money(rest.get_column('cogs_total').sum())}"
        )
    )
    ui.show_table(rest, money=["cogs_total"], key="unattributed")


def _billed(snap: da.Snapshot, period: str) -> None:
    ui.show_table(
        da.provider_billed(snap, period),
        money=["billed_cost"],
        quantities=["cost_lines"],
        key="provider_billed",
        empty="No provider cost lines in this month.",
    )


def _reconciliation(snap: da.Snapshot, period: str) -> None:
    recon = da.reconciliation(snap, period)
    if recon.is_empty():
        st.caption("No reconciliation rows in this month.")
        return
    counts = dict(recon.group_by("status").len().iter_rows())
    cols = st.columns(len(STATUSES))
    for col, status in zip(cols, STATUSES, strict=True):
        col.metric(status.replace("_", " ").capitalize(), f"{counts.get(status, 0):,}")
    chart = (
        alt.Chart(
            recon.select(
                "usage_date",
                "status",
                pl.concat_str(["provider", "model"], separator=" · ").alias("provider_model"),
            ).to_pandas()
        )
        .mark_rect()
        .encode(
            x=alt.X("yearmonthdate(usage_date):O", title="Day (UTC)"),
            y=alt.Y("provider_model:N", title=None, axis=alt.Axis(labelLimit=260)),
            color=alt.Color("status:N", scale=STATUS_COLORS, title="Status"),
            tooltip=["provider_model", "usage_date", "status"],
        )
    )
    st.altair_chart(chart, width="stretch")
    under = recon.filter(pl.col("status") == "under_metered")
    if not under.is_empty():
        st.error(
            f"{under.height} under-metered provider × model × day(s): the provider "
            "reported more than was metered (revenue leakage)."
        )
        ui.show_table(
            under,
            money=RECON_MONEY,
            currency_column=None,
            quantities=RECON_QUANTITIES,
            percents=["cost_difference_pct"],
            key="under_metered",
        )
    with st.expander("All reconciliation rows"):
        ui.show_table(
            recon,
            money=RECON_MONEY,
            currency_column=None,
            quantities=RECON_QUANTITIES,
            percents=["cost_difference_pct"],
            key="reconciliation",
        )


def render() -> None:
    st.title("COGS & margin")
    snap = ui.current_snapshot()
    period = ui.require_period()
    if period is None:
        return
    ui.period_notice(snap, period)
    with ui.section(f"Cost of goods sold — {ui.period_label(snap, period)}"):
        _breakdown(snap, period)
    customer_id = ui.selected_customer()
    name = ui.customer_row(snap, customer_id).get("customer_name") if customer_id else None
    who = ui.customer_label(name, customer_id) if customer_id else "no customer"
    with ui.section(f"Margin per model — {who}, {period}"):
        _model_margin(snap, customer_id, period)
    with ui.section("Unattributed cost"):
        _unattributed(snap, period)
    with ui.section("What providers billed"):
        _billed(snap, period)
    with ui.section("Reconciliation (provider × model × UTC day)"):
        _reconciliation(snap, period)


render()
