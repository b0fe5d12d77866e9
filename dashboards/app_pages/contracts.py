"""Contracts: burn-down of each commitment against pace, at-risk and renewing contracts."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboards import components as ui
from dashboards import data_access as da

MONEY = [
    "commit_amount",
    "consumed_to_date",
    "expected_to_date",
    "projected_consumption",
    "true_up_amount",
]


def _burndown(progress: pl.DataFrame) -> None:
    frame = ui.chart_frame(progress, MONEY).with_columns(
        (pl.col("commit_amount") - pl.col("consumed_to_date")).alias("remaining"),
        (pl.col("commit_amount") - pl.col("expected_to_date")).alias("remaining_at_pace"),
    )
    long = frame.unpivot(
        index=["contract_id", "period"],
        on=["remaining", "remaining_at_pace"],
        variable_name="series",
        value_name="amount",
    )
    chart = (
        alt.Chart(long.to_pandas())
        .mark_line(point=True)
        .encode(
            x=alt.X("period:O", title="Period"),
            y=alt.Y("amount:Q", title="Commitment remaining", axis=alt.Axis(format="$,.0f")),
            color=alt.Color("series:N", title=None),
            facet=alt.Facet("contract_id:N", columns=3, title=None),
            tooltip=["contract_id", "period", "series", alt.Tooltip("amount:Q", format="$,.2f")],
        )
        .properties(height=180)
    )
    st.altair_chart(chart)


def render() -> None:
    st.title("Contracts")
    snap = ui.current_snapshot()
    period = ui.selected_period()
    with ui.section("Commitment burn-down"):
        progress = da.contract_progress(snap)
        if progress.is_empty():
            st.info("No contracts.")
            return
        _burndown(progress)
        current = progress.filter(pl.col("period") == period) if period else progress
        at_risk = current.filter(pl.col("is_at_risk"))
        renewing = current.filter(pl.col("is_renewing"))
        cols = st.columns(3)
        cols[0].metric("Contracts", f"{progress.get_column('contract_id').n_unique():,}")
        cols[1].metric("At risk", f"{at_risk.height:,}")
        cols[2].metric("Renewing", f"{renewing.height:,}")
        st.subheader("At risk")
        ui.show_table(
            at_risk,
            money=MONEY,
            percents=["pace_pct"],
            key="at_risk",
            empty="No contract at risk in this period.",
        )
        st.subheader("Renewing")
        ui.show_table(
            renewing,
            money=MONEY,
            percents=["pace_pct"],
            key="renewing",
            empty="No contract up for renewal in this period.",
        )
        with st.expander("All contract periods"):
            ui.show_table(progress, money=MONEY, percents=["pace_pct"], key="all_contracts")


render()
