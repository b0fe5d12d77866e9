"""Small UI building blocks shared by the pages (no SQL here: see data_access.py)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import polars as pl
import streamlit as st

from dashboards import data_access as da
from dashboards import formatting as fmt


@contextmanager
def section(title: str | None = None) -> Iterator[None]:
    """A page section: a missing or incompatible mart shows a message naming it, instead of a
    traceback, and the rest of the page still renders. A missing or busy warehouse propagates to
    the app, which shows one clear message."""
    if title:
        st.subheader(title)
    try:
        yield
    except (da.MartMissing, da.MartIncompatible) as exc:
        st.info(str(exc))


def current_snapshot() -> da.Snapshot:
    return da.snapshot()


def selected_period() -> str | None:
    return st.session_state.get("period")


def selected_customer() -> str | None:
    return st.session_state.get("customer_id")


def customer_currency(snap: da.Snapshot, customer_id: str) -> str:
    """The customer's invoice currency (USD when unknown)."""
    try:
        people = da.customers(snap)
    except (da.MartMissing, da.MartIncompatible):
        return "USD"
    match = people.filter(pl.col("customer_id") == customer_id)
    return str(match.item(0, "currency")) if match.height else "USD"


def require_period() -> str | None:
    period = selected_period()
    if period is None:
        st.info("No billing period in the warehouse yet (no invoices or margin rows).")
    return period


def show_table(
    df: pl.DataFrame,
    *,
    money: Sequence[str] = (),
    quantities: Sequence[str] = (),
    percents: Sequence[str] = (),
    currency_column: str | None = "currency",
    key: str | None = None,
    empty: str = "Nothing to show.",
) -> None:
    """A dataframe with money as currency text ("$1,080.00"), quantities and percentages with
    thousands separators."""
    if df.is_empty():
        st.caption(empty)
        return
    shown = fmt.money_frame(df, money, currency_column)
    shown = fmt.quantity_frame(shown, quantities)
    shown = fmt.percent_frame(shown, percents)
    st.dataframe(shown, hide_index=True, width="stretch", key=key)


def chart_frame(df: pl.DataFrame, money: Sequence[str]) -> pl.DataFrame:
    """A copy with the money columns as floats — for chart axes only, never for arithmetic."""
    present = [c for c in money if c in df.columns]
    return df.with_columns([pl.col(c).cast(pl.Float64) for c in present])
