"""Small UI building blocks shared by the pages (no SQL here: see data_access.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import altair as alt
import polars as pl
import streamlit as st

from dashboards import data_access as da
from dashboards import formatting as fmt

# st.column_config number formats per currency (the rest: thousands separators, the currency
# column beside)
MONEY_FORMATS = {"USD": "dollar", "EUR": "euro", "JPY": "yen"}
PERCENT_FORMAT = "%.1f%%"
# the invoice list's fixed widths: the key columns stay readable at 1440 px, and a header
# sits where the browser test clicks it
INVOICE_LIST_WIDTHS = {
    "invoice_number": 140,
    "customer_name": 160,
    "status": 70,
    "issue_date": 95,
    "due_date": 95,
    "total": 115,
    "subtotal": 105,
    "credit_total": 95,
    "tax_total": 90,
    "currency": 75,
}


@contextmanager
def section(title: str | None = None) -> Iterator[None]:
    """A page section: a missing or incompatible mart shows a message naming it, instead of a
    traceback, and the rest of the page still renders. A missing or busy warehouse propagates to
    the app, which shows one clear message. ``title`` is plain text (escaped)."""
    if title:
        st.subheader(fmt.md_escape(title))
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


def customer_row(snap: da.Snapshot, customer_id: str) -> dict[str, Any]:
    """The customer's dim_customers row (name = id, USD when unknown)."""
    try:
        people = da.customers(snap)
    except (da.MartMissing, da.MartIncompatible):
        people = pl.DataFrame()
    match = people.filter(pl.col("customer_id") == customer_id) if people.height else people
    if match.height:
        return match.row(0, named=True)
    return {"customer_id": customer_id, "customer_name": customer_id, "currency": "USD"}


def customer_currency(snap: da.Snapshot, customer_id: str) -> str:
    """The customer's invoice currency (USD when unknown)."""
    return str(customer_row(snap, customer_id).get("currency") or "USD")


def customer_label(name: object, customer_id: object) -> str:
    """``"Northwind Inc (cus_northwind)"``; the id alone when the name is the id."""
    if name is None or name == customer_id:
        return str(customer_id)
    return f"{name} ({customer_id})"


def period_info(snap: da.Snapshot, period: str) -> dict[str, Any]:
    """The dim_billing_periods row of ``period`` (empty when unknown)."""
    try:
        table = da.periods(snap)
    except (da.MartMissing, da.MartIncompatible):
        return {}
    rows = table.filter(pl.col("period") == period).to_dicts()
    return rows[0] if rows else {}


def period_label(snap: da.Snapshot, period: str) -> str:
    return str(period_info(snap, period).get("period_label") or period)


def period_notice(snap: da.Snapshot, period: str) -> None:
    """Say when the period is incomplete, or holds drafts older than an issued period."""
    info = period_info(snap, period)
    if not info:
        return
    if info.get("period_status") == "incomplete":
        through = info.get("usage_through")
        st.warning(
            fmt.md_escape(
                f"{period} is incomplete: the month is not over in the data"
                + (f" (usage through {through})" if through else " (no usage yet)")
                + ". Figures are to date; month-end projections apply."
            ),
            icon=":material/hourglass_top:",
        )
    if info.get("has_drafts_before_issued"):
        st.warning(
            fmt.md_escape(
                f"{period} still has {info.get('draft_invoices')} draft invoice(s) although a "
                "later period is issued: this month was never closed."
            ),
            icon=":material/report:",
        )


MEASURES = {"revenue": "Revenue", "cogs": "COGS", "gross_margin": "Gross margin"}


def trend_chart(snap: da.Snapshot, trend: pl.DataFrame, height: int = 260) -> None:
    """Revenue, COGS and gross margin per month as lines; an incomplete month is named so on
    the axis ("2026-11 (incomplete)") and its points are pale."""
    try:
        status = dict(da.periods(snap).select("period", "period_status").iter_rows())
    except (da.MartMissing, da.MartIncompatible):
        status = {}
    frame = chart_frame(trend, list(MEASURES)).with_columns(
        pl.col("period")
        .map_elements(
            lambda p: f"{p} (incomplete)" if status.get(p) == "incomplete" else p,
            return_dtype=pl.String,
        )
        .alias("month"),
        pl.col("period").replace_strict(status, default="").eq("incomplete").alias("partial"),
    )
    index = ["month", "partial"] + (["currency"] if "currency" in frame.columns else [])
    long = frame.unpivot(
        index=index, on=list(MEASURES), variable_name="measure", value_name="amount"
    ).with_columns(pl.col("measure").replace_strict(MEASURES))
    several = "currency" in frame.columns and frame.get_column("currency").n_unique() > 1
    encoding: dict[str, Any] = {
        "x": alt.X("month:O", title="Month", axis=alt.Axis(labelAngle=0, labelLimit=240)),
        "y": alt.Y("amount:Q", title="Amount", axis=alt.Axis(format="$,.0f")),
        "color": alt.Color(
            "measure:N",
            title=None,
            scale=alt.Scale(
                domain=list(MEASURES.values()), range=["#1f77b4", "#d62728", "#2ca02c"]
            ),
        ),
        "tooltip": [
            alt.Tooltip("month:O", title="Month"),
            alt.Tooltip("measure:N", title="Measure"),
            alt.Tooltip("amount:Q", title="Amount", format="$,.2f"),
        ],
    }
    if several:
        encoding["strokeDash"] = alt.StrokeDash("currency:N", title="Currency")
    lines = alt.Chart(long.to_pandas()).mark_line().encode(**encoding)
    points = (
        alt.Chart(long.to_pandas())
        .mark_point(size=70, filled=True)
        .encode(
            x=encoding["x"],
            y=encoding["y"],
            color=encoding["color"],
            opacity=alt.condition("datum.partial", alt.value(0.3), alt.value(1.0)),
            tooltip=encoding["tooltip"],
        )
    )
    st.altair_chart((lines + points).properties(height=height), width="stretch")


def require_period() -> str | None:
    period = selected_period()
    if period is None:
        st.info("No billing period in the warehouse yet (no invoices or usage).")
    return period


def _display_frame(
    df: pl.DataFrame, keep_numeric: Sequence[str] = (), percents: Sequence[str] = ()
) -> pl.DataFrame:
    """Decimals as floats (display only: the grid sorts and exports numbers), timestamps that
    are all midnight as dates, text NULLs as empty text. A grid shows a missing value as
    "None": dates with gaps become ISO text (still sorting in time), other numbers with gaps
    (a unit price of a tiered line, a margin % without revenue) formatted text, except money
    (``keep_numeric``)."""
    casts = []
    for name, dtype in df.schema.items():
        gaps = df.get_column(name).null_count() > 0
        if gaps and dtype == pl.Date:
            casts.append(pl.col(name).cast(pl.String).fill_null(""))
        elif gaps and dtype.is_numeric() and name in percents:
            casts.append(
                pl.col(name).map_elements(fmt.percent, return_dtype=pl.String).fill_null("")
            )
        elif gaps and dtype.is_numeric() and name not in keep_numeric:
            casts.append(
                pl.col(name).map_elements(fmt.quantity, return_dtype=pl.String).fill_null("")
            )
        elif isinstance(dtype, pl.Decimal):
            casts.append(pl.col(name).cast(pl.Float64))
        elif isinstance(dtype, pl.Datetime):
            times = df.get_column(name).drop_nulls()
            if times.is_empty() or (times.dt.truncate("1d") == times).all():
                casts.append(pl.col(name).cast(pl.Date))
        elif dtype == pl.String:
            casts.append(pl.col(name).fill_null(""))
    return df.with_columns(casts) if casts else df


def column_config(
    df: pl.DataFrame,
    *,
    money: Sequence[str] = (),
    percents: Sequence[str] = (),
    currency_column: str | None = "currency",
    labels: dict[str, str] | None = None,
    pinned: Sequence[str] = (),
    currency_source: pl.DataFrame | None = None,
    widths: dict[str, int] | None = None,
) -> dict[str, Any]:
    """``st.column_config`` for every column: human headers, money in the currency's format,
    percentages, dates without a time, booleans as check boxes."""
    currencies: list[str] = []
    if (
        currency_column
        and currency_column in df.columns
        and df.schema[currency_column] == pl.String
    ):
        currencies = sorted({str(c) for c in df.get_column(currency_column).drop_nulls()})
    elif money:
        currencies = ["USD"]
    money_format = MONEY_FORMATS.get(currencies[0], "%,.2f") if len(currencies) == 1 else "%,.2f"
    names = {**fmt.LABELS, **(labels or {})}
    config: dict[str, Any] = {}
    for name, dtype in df.schema.items():
        label = names.get(name) or fmt.label(name)
        pin = True if name in pinned else None
        size = (widths or {}).get(name)
        if name in money:
            config[name] = st.column_config.NumberColumn(
                label, format=money_format, pinned=pin, width=size
            )
        elif name in percents and dtype.is_numeric():
            config[name] = st.column_config.NumberColumn(
                label, format=PERCENT_FORMAT, pinned=pin, width=size
            )
        elif dtype.is_numeric():
            config[name] = st.column_config.NumberColumn(
                label, format="localized", pinned=pin, width=size
            )
        elif dtype == pl.Date:
            config[name] = st.column_config.DateColumn(
                label, format="YYYY-MM-DD", pinned=pin, width=size
            )
        elif isinstance(dtype, pl.Datetime):
            config[name] = st.column_config.DatetimeColumn(
                label, format="YYYY-MM-DD HH:mm:ss", pinned=pin, width=size
            )
        elif dtype == pl.Boolean:
            config[name] = st.column_config.CheckboxColumn(label, pinned=pin, width=size)
        else:
            config[name] = st.column_config.TextColumn(label, pinned=pin, width=size)
    return config


def show_table(
    df: pl.DataFrame,
    *,
    money: Sequence[str] = (),
    quantities: Sequence[str] = (),
    percents: Sequence[str] = (),
    currency_column: str | None = "currency",
    key: str | None = None,
    empty: str = "Nothing to show.",
    hide: Sequence[str] = (),
    labels: dict[str, str] | None = None,
    pinned: Sequence[str] = (),
    on_select: Callable[[], None] | None = None,
    height: int | None = None,
    widths: dict[str, int] | None = None,
) -> Any:
    """A table whose numbers stay numbers (the grid sorts them numerically and its CSV download
    writes them as numbers): money formatted in the currency, quantities with thousands
    separators, percentages with one decimal, dates as dates; headers for people (``LABELS``);
    text cells as text (never Markdown). ``hide`` columns are used for formatting, not shown.
    With ``on_select`` one row can be selected (the callback runs before the rerun)."""
    del quantities  # every numeric column gets thousands separators
    if df.is_empty():
        st.caption(fmt.md_escape(empty))
        return None
    dropped = [c for c in hide if c in df.columns]
    # a column with no value at all (no due dates without payment terms, ...) is left out
    dropped += [
        c for c in df.columns if c not in dropped and df.get_column(c).null_count() == df.height
    ]
    shown = _display_frame(df.drop(dropped), keep_numeric=money, percents=percents)
    config = column_config(
        shown,
        money=money,
        percents=percents,
        currency_column=currency_column,
        labels=labels,
        pinned=pinned,
        currency_source=df,
        widths=widths,
    )
    kwargs: dict[str, Any] = {}
    if on_select is not None:
        kwargs = {"on_select": on_select, "selection_mode": "single-row"}
    if height is not None:
        kwargs["height"] = height
    # the frame carries the headers people read, so the grid's CSV download has them too
    names = {**fmt.LABELS, **(labels or {})}
    headers = {c: names.get(c) or fmt.label(c) for c in shown.columns}
    if len(set(headers.values())) < len(headers):  # two columns, one header: keep the names
        headers = {c: c for c in shown.columns}
    return st.dataframe(
        shown.rename(headers),
        hide_index=True,
        width="stretch",
        key=key,
        column_config={headers[k]: v for k, v in config.items() if k in shown.columns},
        **kwargs,
    )


def chart_frame(df: pl.DataFrame, money: Sequence[str]) -> pl.DataFrame:
    """A copy with the money columns as floats — for chart axes only, never for arithmetic."""
    present = [c for c in money if c in df.columns]
    return df.with_columns([pl.col(c).cast(pl.Float64) for c in present])
