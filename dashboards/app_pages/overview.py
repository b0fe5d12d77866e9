"""Overview: revenue, COGS, gross margin and margin % of the period against the previous one;
monthly trends; the customers with the lowest (and negative) margins."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import streamlit as st

from dashboards import components as ui
from dashboards import data_access as da
from dashboards import formatting as fmt


def _row(totals: pl.DataFrame, period: str) -> dict[str, Decimal | str | None]:
    rows = totals.filter(pl.col("period") == period).to_dicts()
    return rows[0] if rows else {}


def _kpis(snap: da.Snapshot, period: str) -> None:
    previous = fmt.previous_period(period)
    totals = da.margin_totals(snap, (previous, period))
    currencies = sorted(set(totals.get_column("currency").to_list()))
    if not currencies:
        st.info(f"No margin rows for {period}.")
        return
    for currency in currencies:
        per_currency = totals.filter(pl.col("currency") == currency)
        now, before = _row(per_currency, period), _row(per_currency, previous)
        if len(currencies) > 1:
            st.caption(currency)
        cols = st.columns(4)
        for col, (label, key) in zip(
            cols,
            [("Revenue", "revenue"), ("COGS", "cogs"), ("Gross margin", "gross_margin")],
            strict=False,
        ):
            col.metric(
                label,
                fmt.money(now.get(key), currency),  # type: ignore[arg-type]
                delta=fmt.delta_money(now.get(key), before.get(key), currency),  # type: ignore[arg-type]
                delta_color="inverse" if key == "cogs" else "normal",
                help=f"{period} vs {previous}",
            )
        pct_now, pct_before = now.get("margin_pct"), before.get("margin_pct")
        delta = None
        if isinstance(pct_now, Decimal) and isinstance(pct_before, Decimal):
            delta = f"{pct_now - pct_before:+} pts"
        cols[3].metric(
            "Margin %",
            fmt.percent(pct_now),
            delta=delta,  # type: ignore[arg-type]
            help=f"{period} vs {previous}",
        )


def _trend(snap: da.Snapshot) -> None:
    trend = da.margin_trend(snap)
    if trend.is_empty():
        st.caption("No margin rows yet.")
        return
    ui.trend_chart(snap, trend)


def render() -> None:
    st.title("Overview")
    snap = ui.current_snapshot()
    period = ui.require_period()
    if period is None:
        return
    ui.period_notice(snap, period)
    with ui.section(f"Margin — {ui.period_label(snap, period)} vs {fmt.previous_period(period)}"):
        _kpis(snap, period)
    with ui.section("Trend by month"):
        _trend(snap)
    with ui.section("Lowest margins"):
        lowest = da.lowest_margins(snap, period)
        negative = lowest.filter(pl.col("gross_margin") < 0).height
        if negative:
            st.error(fmt.md_escape(f"{negative} customer(s) with a negative margin in {period}."))
        ui.show_table(
            lowest,
            money=["revenue", "cogs", "gross_margin"],
            percents=["margin_pct", "markup_pct"],
            key="lowest_margins",
            empty="No customers in this period.",
        )


render()
