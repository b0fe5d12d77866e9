"""Alerts: thresholds crossed and hard-limit breaches with the spend on the day they happened,
and anomalous days; grouped per customer, filterable by type and customer."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboards import components as ui
from dashboards import data_access as da
from dashboards import formatting as fmt

TYPES = {
    "threshold": "Threshold crossed",
    "hard_limit": "Hard limit breached",
    "anomaly": "Anomaly",
}


def _per_customer(table: pl.DataFrame) -> pl.DataFrame:
    return (
        table.group_by("customer_id")
        .agg(
            pl.col("customer_name").first(),
            pl.len().alias("alerts"),
            (pl.col("alert_type") == "threshold").sum().alias("thresholds"),
            (pl.col("alert_type") == "hard_limit").sum().alias("hard_limits"),
            (pl.col("alert_type") == "anomaly").sum().alias("anomalies"),
            pl.col("threshold_pct").max().alias("highest_threshold_pct"),
            pl.col("alert_date").min().alias("first_alert"),
            pl.col("alert_date").max().alias("last_alert"),
            pl.col("amount").sort_by("alert_date").last().alias("spend_at_last_alert"),
            pl.col("currency").first(),
        )
        .sort(["hard_limits", "highest_threshold_pct", "alerts"], descending=True, nulls_last=True)
        .select(
            "customer_name",
            "alerts",
            "thresholds",
            "hard_limits",
            "anomalies",
            "highest_threshold_pct",
            "first_alert",
            "last_alert",
            "spend_at_last_alert",
            "currency",
            "customer_id",
        )
    )


def render() -> None:
    st.title("Alerts")
    snap = ui.current_snapshot()
    period = ui.require_period()
    if period is None:
        return
    ui.period_notice(snap, period)
    with ui.section(f"Alerts — {ui.period_label(snap, period)}"):
        table = da.alerts(snap, period)
        counts = dict(table.group_by("alert_type").len().iter_rows()) if table.height else {}
        cols = st.columns(5)
        cols[0].metric("Alerts", f"{table.height:,}")
        cols[1].metric("Customers", f"{table.get_column('customer_id').n_unique():,}")
        cols[2].metric("Thresholds crossed", f"{counts.get('threshold', 0):,}")
        cols[3].metric("Hard-limit breaches", f"{counts.get('hard_limit', 0):,}")
        cols[4].metric("Anomalies", f"{counts.get('anomaly', 0):,}")
        if counts.get("hard_limit"):
            breached = table.filter(pl.col("alert_type") == "hard_limit")
            names = ", ".join(sorted(set(breached.get_column("customer_name").to_list())))
            st.error(fmt.md_escape(f"Hard limit breached: {names}"))
        if table.is_empty():
            st.caption("No alerts in this period.")
            return
        filters = st.columns([1, 1])
        kinds = filters[0].multiselect(
            "Alert type",
            list(TYPES),
            default=list(TYPES),
            format_func=lambda k: TYPES[k],
            key="alert_types",
        )
        names = dict(table.select("customer_id", "customer_name").unique().iter_rows())
        who = filters[1].multiselect(
            "Customers",
            sorted(names, key=lambda c: (names[c] or c, c)),
            format_func=lambda c: ui.customer_label(names[c], c),
            key="alert_customers",
            placeholder="all customers",
        )
        shown = table.filter(pl.col("alert_type").is_in(kinds))
        if who:
            shown = shown.filter(pl.col("customer_id").is_in(who))
        st.subheader("Per customer")
        ui.show_table(
            _per_customer(shown),
            money=["spend_at_last_alert"],
            percents=["highest_threshold_pct"],
            hide=["customer_id"],
            key="alerts_per_customer",
            empty="No alerts match the filters.",
        )
        st.subheader("Every alert")
        st.caption(
            "Amount: the spend to date on the day a threshold was crossed or the hard limit "
            "breached (the anomalous day's spend for anomalies); compared with the threshold, "
            "the monthly budget or the anomaly threshold."
        )
        ui.show_table(
            shown.with_columns(
                pl.col("alert_type").replace_strict(TYPES, default=pl.col("alert_type"))
            ),
            money=["amount", "reference_amount", "period_spend_to_date"],
            hide=["threshold_pct", "customer_id"],
            key="alerts",
            empty="No alerts match the filters.",
        )


render()
