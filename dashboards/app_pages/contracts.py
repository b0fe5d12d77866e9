"""Contracts: burn-down of each commitment against pace, at-risk and renewing contracts."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboards import components as ui
from dashboards import data_access as da
from dashboards import formatting as fmt

MONEY = [
    "committed_amount",
    "consumed_to_date",
    "straight_line_to_date",
    "pace_variance",
    "projected_spend",
    "projected_shortfall",
]


def _burndown(progress: pl.DataFrame) -> None:
    frame = ui.chart_frame(progress, MONEY).with_columns(
        (pl.col("committed_amount") - pl.col("consumed_to_date")).alias("remaining"),
        (pl.col("committed_amount") - pl.col("straight_line_to_date")).alias("remaining_at_pace"),
    )
    long = frame.unpivot(
        index=["contract_id", "period"],
        on=["remaining", "remaining_at_pace"],
        variable_name="series",
        value_name="amount",
    ).with_columns(
        pl.col("series").replace_strict(
            {"remaining": "Remaining", "remaining_at_pace": "Remaining at straight-line pace"}
        )
    )
    chart = (
        alt.Chart(long.to_pandas())
        .mark_line(point=True)
        .encode(
            x=alt.X("period:O", title="Period", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("amount:Q", title="Commitment remaining", axis=alt.Axis(format="$,.0f")),
            color=alt.Color("series:N", title=None, legend=alt.Legend(orient="bottom")),
            tooltip=["contract_id", "period", "series", alt.Tooltip("amount:Q", format="$,.2f")],
        )
        .properties(height=180, width=240)
        .facet(facet=alt.Facet("contract_id:N", title=None), columns=3)
    )
    st.altair_chart(chart)


def render() -> None:
    st.title("Contracts")
    snap = ui.current_snapshot()
    with ui.section("Commitment burn-down"):
        progress = da.contract_progress(snap)
        if progress.is_empty():
            st.info("No contracts.")
            return
        _burndown(progress)
        current = progress.filter(pl.col("is_current"))
        at_risk = current.filter(pl.col("at_risk"))
        renewing = current.filter(pl.col("renewal_due"))
        cols = st.columns(4)
        cols[0].metric("Contracts", f"{progress.get_column('contract_id').n_unique():,}")
        cols[1].metric("At risk", f"{at_risk.height:,}")
        cols[2].metric("Renewal due", f"{renewing.height:,}")
        cols[3].metric(
            "Projected shortfall (true-up)",
            fmt.money(at_risk.get_column("projected_shortfall").sum()),
        )
        st.subheader("At risk")
        ui.show_table(
            at_risk,
            money=MONEY,
            percents=["pace_pct"],
            key="at_risk",
            empty="No contract is projected to miss its commitment.",
        )
        st.subheader("Renewing")
        ui.show_table(
            renewing,
            money=MONEY,
            percents=["pace_pct"],
            key="renewing",
            empty="No contract within its renewal notice period.",
        )
        with st.expander("All contract periods"):
            ui.show_table(progress, money=MONEY, percents=["pace_pct"], key="all_contracts")


render()
