"""Invoices: the period's invoices (draft or issued; blocked ones and why), drill-down to the
lines and from a usage line to its daily usage; downloads of the exported CSVs (same bytes)."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboards import components as ui
from dashboards import data_access as da
from dashboards import formatting as fmt

MONEY = [
    "fees_total",
    "usage_total",
    "discount_total",
    "minimum_commitment_total",
    "adjustment_total",
    "subtotal",
    "credit_total",
    "tax_total",
    "total",
]


def _list(snap: da.Snapshot, period: str) -> pl.DataFrame:
    table = da.invoices(snap, period)
    if table.is_empty():
        st.info(f"No invoices for {period}.")
        return table
    issued = table.filter(pl.col("status") == "issued").height
    blocked = table.filter(pl.col("is_blocked")).height
    cols = st.columns(4)
    cols[0].metric("Invoices", f"{table.height:,}")
    cols[1].metric("Issued", f"{issued:,}")
    cols[2].metric("Drafts", f"{table.height - issued:,}")
    cols[3].metric("Blocked", f"{blocked:,}")
    for currency, amount in (
        table.group_by("currency").agg(pl.col("total").sum()).sort("currency").iter_rows()
    ):
        st.metric(f"Billed total ({currency})", fmt.money(amount, currency))
    if blocked:
        st.warning("Blocked invoices cannot be closed until the reason is resolved.")
        ui.show_table(
            table.filter(pl.col("is_blocked")).select(
                "customer_id", "invoice_id", "blocked_reason"
            ),
            key="blocked",
        )
        with ui.section():
            st.caption("Unpriced usage (never billed at 0; add a price or exclude it at close)")
            ui.show_table(
                da.unpriced_usage(snap, period),
                quantities=["quantity", "event_count"],
                currency_column=None,
                key="unpriced",
                empty="No unpriced usage rows for this period.",
            )
    ui.show_table(
        table.select(
            "customer_id",
            "status",
            "invoice_number",
            "currency",
            "subtotal",
            "credit_total",
            "tax_total",
            "total",
            "is_blocked",
            "blocked_reason",
        ),
        money=MONEY,
        key="invoice_list",
    )
    return table


def _detail(snap: da.Snapshot, table: pl.DataFrame, period: str) -> None:
    ids = table.get_column("invoice_id").to_list()
    preferred = f"{ui.selected_customer()}:{period}"
    invoice_id = st.selectbox(
        "Invoice", ids, index=ids.index(preferred) if preferred in ids else 0, key="invoice_pick"
    )
    invoice = table.filter(pl.col("invoice_id") == invoice_id).row(0, named=True)
    currency = invoice["currency"]
    label = invoice["invoice_number"] or "no number until the period is closed"
    st.markdown(f"**{invoice['customer_id']}** · {period} · {invoice['status']} · {label}")
    if invoice["is_blocked"]:
        st.error(f"Blocked: {invoice['blocked_reason']}")
    cols = st.columns(4)
    cols[0].metric("Subtotal", fmt.money(invoice["subtotal"], currency))
    cols[1].metric("Credits", fmt.money(-invoice["credit_total"], currency))
    cols[2].metric("Tax", fmt.money(invoice["tax_total"], currency))
    cols[3].metric("Total", fmt.money(invoice["total"], currency))

    lines = da.invoice_lines(snap, invoice_id)
    ui.show_table(lines, money=["amount"], quantities=["quantity"], key="invoice_lines")
    st.caption("Unit prices are shown unrounded, as rated.")
    _downloads(invoice, period)

    usage_lines = lines.filter(pl.col("line_type") == "usage")
    if usage_lines.is_empty():
        return
    with ui.section("Daily usage behind a line"):
        options = usage_lines.get_column("line_no").to_list()
        descriptions = dict(usage_lines.select("line_no", "description").iter_rows())
        line_no = st.selectbox(
            "Usage line", options, key="line_pick", format_func=lambda n: f"{n} · {descriptions[n]}"
        )
        daily = da.line_daily_usage(snap, invoice_id, line_no)
        if daily.is_empty():
            st.caption("No daily usage rows for this line.")
            return
        chart = (
            alt.Chart(ui.chart_frame(daily, ["quantity"]).to_pandas())
            .mark_bar()
            .encode(
                x=alt.X("usage_date:T", title="Day"),
                y=alt.Y("quantity:Q", title="Quantity"),
                color=alt.Color("dimensions:N", title=None),
                tooltip=["usage_date", "dimensions", "quantity"],
            )
        )
        st.altair_chart(chart, width="stretch")
        ui.show_table(daily, quantities=["quantity"], key="line_usage")


def _downloads(invoice: dict[str, object], period: str) -> None:
    number = invoice["invoice_number"]
    if not isinstance(number, str):
        st.caption("CSV export: available once the period is closed (`meterline close`).")
        return
    data = da.invoice_export(period, number)
    if data is None:
        st.caption(f"CSV export `{number}.csv` not found in exports/invoices/{period}/.")
        return
    st.download_button(
        f"Download {number}.csv",
        data,
        file_name=f"{number}.csv",
        mime="text/csv",
        key="download_invoice",
    )


def render() -> None:
    st.title("Invoices")
    snap = ui.current_snapshot()
    period = ui.require_period()
    if period is None:
        return
    table = pl.DataFrame()
    with ui.section(f"Invoices — {period}"):
        table = _list(snap, period)
        summary = da.period_summary_export(period)
        if summary is None:
            st.caption("Period summary: available once the period is closed (`meterline close`).")
        else:
            st.download_button(
                f"Download summary.csv ({period})",
                summary,
                file_name=f"summary-{period}.csv",
                mime="text/csv",
                key="download_summary",
            )
    if table.is_empty():
        return
    with ui.section("Invoice detail"):
        _detail(snap, table, period)


render()
