"""Alerts: thresholds crossed, hard-limit breaches and anomalies, in one list."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboards import components as ui
from dashboards import data_access as da


def render() -> None:
    st.title("Alerts")
    snap = ui.current_snapshot()
    period = ui.require_period()
    if period is None:
        return
    with ui.section(f"Alerts — {period}"):
        table = da.alerts(snap, period)
        counts = dict(table.group_by("alert_type").len().iter_rows()) if table.height else {}
        cols = st.columns(4)
        cols[0].metric("Alerts", f"{table.height:,}")
        cols[1].metric("Thresholds crossed", f"{counts.get('threshold', 0):,}")
        cols[2].metric("Hard-limit breaches", f"{counts.get('hard_limit', 0):,}")
        cols[3].metric("Anomalies", f"{counts.get('anomaly', 0):,}")
        if counts.get("hard_limit"):
            breached = table.filter(pl.col("alert_type") == "hard_limit")
            names = ", ".join(sorted(set(breached.get_column("customer_id").to_list())))
            st.error(f"Hard limit breached: {names}")
        ui.show_table(
            table,
            money=["amount", "reference_amount"],
            key="alerts",
            empty="No alerts in this period.",
        )


render()
