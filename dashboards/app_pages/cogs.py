"""COGS & margin: cost by provider, model, feature and customer; direct vs allocated;
reconciliation per provider × model × day with under-metered days highlighted."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboards import components as ui
from dashboards import data_access as da
from dashboards import formatting as fmt

MONEY = ["direct_cogs", "allocated_cogs", "cogs"]
RECON_MONEY = ["expected_cost", "billed_cost", "cost_difference"]
STATUS_COLORS = alt.Scale(
    domain=["matched", "over_billed", "under_metered"], range=["#4c9a2a", "#f2a900", "#d62728"]
)


def _breakdown(snap: da.Snapshot, period: str) -> None:
    by_provider = da.cogs_by(snap, period, "provider")
    if by_provider.is_empty():
        st.caption("No COGS in this period.")
        return
    totals = by_provider.select(pl.col(MONEY).sum()).row(0, named=True)
    cols = st.columns(3)
    cols[0].metric("COGS", fmt.money(totals["cogs"]))
    cols[1].metric("Direct", fmt.money(totals["direct_cogs"]))
    cols[2].metric("Allocated (shared)", fmt.money(totals["allocated_cogs"]))
    tabs = st.tabs(["By provider", "By model", "By feature", "By customer"])
    for tab, dimension in zip(tabs, ["provider", "model", "feature", "customer"], strict=True):
        with tab, ui.section():
            df = by_provider if dimension == "provider" else da.cogs_by(snap, period, dimension)
            long = ui.chart_frame(df, MONEY).unpivot(
                index=[dimension],
                on=["direct_cogs", "allocated_cogs"],
                variable_name="kind",
                value_name="amount",
            )
            chart = (
                alt.Chart(long.to_pandas())
                .mark_bar()
                .encode(
                    y=alt.Y(f"{dimension}:N", sort="-x", title=None),
                    x=alt.X("amount:Q", title="COGS", axis=alt.Axis(format="$,.0f")),
                    color=alt.Color("kind:N", title=None),
                    tooltip=[dimension, "kind", alt.Tooltip("amount:Q", format="$,.2f")],
                )
            )
            st.altair_chart(chart, width="stretch")
            ui.show_table(df, money=MONEY, currency_column=None, key=f"cogs_{dimension}")


def _reconciliation(snap: da.Snapshot, period: str) -> None:
    recon = da.reconciliation(snap, period)
    if recon.is_empty():
        st.caption("No reconciliation rows in this period.")
        return
    counts = dict(recon.group_by("status").len().iter_rows())
    cols = st.columns(3)
    for col, status in zip(cols, ["matched", "over_billed", "under_metered"], strict=True):
        col.metric(status.replace("_", " ").capitalize(), f"{counts.get(status, 0):,}")
    chart = (
        alt.Chart(
            recon.with_columns(
                pl.concat_str(["provider", "model"], separator=" · ").alias("provider_model")
            ).to_pandas()
        )
        .mark_rect()
        .encode(
            x=alt.X("usage_date:O", title="Day", timeUnit="yearmonthdate"),
            y=alt.Y("provider_model:N", title=None),
            color=alt.Color("status:N", scale=STATUS_COLORS),
            tooltip=["provider", "model", "usage_date", "status"],
        )
    )
    st.altair_chart(chart, width="stretch")
    under = recon.filter(pl.col("status") == "under_metered")
    if not under.is_empty():
        st.error(
            f"{under.height} under-metered provider × model × day(s): the provider billed "
            "usage that was not metered (revenue leakage)."
        )
        ui.show_table(
            under,
            money=RECON_MONEY,
            currency_column=None,
            quantities=["metered_tokens", "reported_tokens"],
            key="under_metered",
        )
    with st.expander("All reconciliation rows"):
        ui.show_table(
            recon,
            money=RECON_MONEY,
            currency_column=None,
            quantities=["metered_tokens", "reported_tokens"],
            key="reconciliation",
        )


def render() -> None:
    st.title("COGS & margin")
    snap = ui.current_snapshot()
    period = ui.require_period()
    if period is None:
        return
    with ui.section(f"Cost of goods sold — {period}"):
        _breakdown(snap, period)
    with ui.section("Reconciliation (provider × model × day)"):
        _reconciliation(snap, period)


render()
