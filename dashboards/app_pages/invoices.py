"""Invoices: the period's invoices by number (status, issue and due date, customer, amounts;
filters), the selected invoice's lines, and from a usage line its daily quantities and a sample
of its events with the file and row each came from; downloads of the exported CSV and PDF."""

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
LIST_WIDTHS = ui.INVOICE_LIST_WIDTHS
LIST_COLUMNS = [*LIST_WIDTHS, "is_blocked", "blocked_reason", "is_draft_before_issued"]


def _select_customer() -> None:
    """Row selected in the invoice list: make its customer the sidebar customer (runs before
    the rerun, so the detail below follows)."""
    event = st.session_state.get("invoice_list")
    shown = st.session_state.get("_invoice_list_customers", [])
    rows = event.selection.rows if event is not None else []
    if rows and rows[0] < len(shown):
        st.session_state["customer_id"] = shown[rows[0]]


def _filters(table: pl.DataFrame) -> pl.DataFrame:
    cols = st.columns([2, 3, 2, 2])
    statuses = sorted(set(table.get_column("status").to_list()))
    chosen = cols[0].multiselect("Status", statuses, default=statuses, key="invoice_status")
    search = cols[1].text_input(
        "Find customer or invoice number", key="invoice_search", placeholder="name, id or INV-…"
    )
    blocked_only = cols[2].checkbox("Blocked only", key="invoice_blocked_only")
    shown = table.filter(pl.col("status").is_in(chosen))
    if search.strip():
        needle = search.strip().lower()
        shown = shown.filter(
            pl.col("customer_name").str.to_lowercase().str.contains(needle, literal=True)
            | pl.col("customer_id").str.to_lowercase().str.contains(needle, literal=True)
            | pl.col("invoice_number")
            .fill_null("")
            .str.to_lowercase()
            .str.contains(needle, literal=True)
        )
    if blocked_only:
        shown = shown.filter(pl.col("is_blocked"))
    cols[3].metric("Shown", f"{shown.height:,} of {table.height:,}")
    return shown


def _list(snap: da.Snapshot, period: str) -> pl.DataFrame:
    table = da.invoices(snap, period)
    if table.is_empty():
        st.info(fmt.md_escape(f"No invoices for {ui.period_label(snap, period)}."))
        return table
    issued = table.filter(pl.col("status") == "issued").height
    blocked = table.filter(pl.col("is_blocked")).height
    cols = st.columns(5)
    cols[0].metric("Invoices", f"{table.height:,}")
    cols[1].metric("Issued", f"{issued:,}")
    cols[2].metric("Drafts", f"{table.height - issued:,}")
    cols[3].metric("Blocked", f"{blocked:,}")
    for currency, amount in (
        table.group_by("currency").agg(pl.col("total").sum()).sort("currency").iter_rows()
    ):
        cols[4].metric(f"Billed total ({currency})", fmt.money(amount, currency))
    if blocked:
        st.warning("Blocked invoices cannot be closed until the reason is resolved.")
        with ui.section():
            st.caption("Unpriced usage (never billed at 0; add a price or exclude it at close)")
            ui.show_table(
                da.unpriced_usage(snap, period),
                currency_column=None,
                key="unpriced",
                empty="No unpriced usage rows for this period.",
            )
    shown = _filters(table)
    columns = [c for c in LIST_COLUMNS if c in shown.columns]
    if shown.get_column("due_date").null_count() == shown.height:
        columns.remove("due_date")  # no payment terms in customers.csv: no due date to state
    if not shown.get_column("is_blocked").any():
        columns = [c for c in columns if c not in ("is_blocked", "blocked_reason")]
    if not shown.get_column("is_draft_before_issued").any():
        columns.remove("is_draft_before_issued")
    st.session_state["_invoice_list_customers"] = shown.get_column("customer_id").to_list()
    ui.show_table(
        shown.select(columns),
        money=MONEY,
        key="invoice_list",
        pinned=["invoice_number"],
        labels={"invoice_number": "Invoice no.", "is_draft_before_issued": "Older than issued"},
        on_select=_select_customer,
        widths=LIST_WIDTHS,
        empty="No invoice matches the filters.",
    )
    st.caption("Select a row to open its invoice below (it also becomes the sidebar customer).")
    return table


def _detail(snap: da.Snapshot, table: pl.DataFrame, period: str) -> None:
    customer_id = ui.selected_customer()
    match = table.filter(pl.col("customer_id") == customer_id)
    if match.is_empty():
        name = ui.customer_row(snap, customer_id or "").get("customer_name")
        st.info(
            fmt.md_escape(
                f"{ui.customer_label(name, customer_id)} has no invoice in {period}; "
                "select a row above or another customer in the sidebar."
            )
        )
        return
    invoice = match.row(0, named=True)
    currency = invoice["currency"]
    number = invoice["invoice_number"] or "draft (numbered when the period is closed)"
    st.text(
        f"{number} · {ui.customer_label(invoice['customer_name'], invoice['customer_id'])} · "
        f"{ui.period_label(snap, period)} · {invoice['status']}"
        + (f" · issued {invoice['issue_date']}" if invoice["issue_date"] else "")
        + (f" · due {invoice['due_date']}" if invoice["due_date"] else "")
    )
    if invoice["is_blocked"]:
        st.error(fmt.md_escape(f"Blocked: {invoice['blocked_reason']}"))
    if invoice["is_draft_before_issued"]:
        st.warning("A draft in a period older than the latest issued one: never closed.")
    cols = st.columns(4)
    cols[0].metric("Subtotal", fmt.money(invoice["subtotal"], currency))
    cols[1].metric("Credits", fmt.money(-invoice["credit_total"], currency))
    cols[2].metric("Tax", fmt.money(invoice["tax_total"], currency))
    cols[3].metric("Total", fmt.money(invoice["total"], currency))

    lines = da.invoice_lines(snap, invoice["invoice_id"])
    ui.show_table(
        lines,
        money=["amount"],
        key="invoice_lines",
        hide=["meter_code", "dimensions", "line_key", "currency"],
        pinned=["line_no"],
    )
    st.caption("Unit prices are shown unrounded, as rated.")
    _downloads(invoice, period)

    usage_lines = lines.filter(pl.col("line_type") == "usage")
    if usage_lines.is_empty():
        return
    with ui.section("Drill-down: a usage line's days and events"):
        _drill(snap, invoice, usage_lines)


def _drill(snap: da.Snapshot, invoice: dict[str, object], usage_lines: pl.DataFrame) -> None:
    keys = usage_lines.get_column("line_key").to_list()
    described = {
        row["line_key"]: f"Line {row['line_no']} · {row['description']}"
        for row in usage_lines.iter_rows(named=True)
    }
    line_key = st.selectbox(
        "Usage line",
        keys,
        key=f"line_pick:{invoice['invoice_id']}",
        format_func=lambda k: described[k],
    )
    line = usage_lines.filter(pl.col("line_key") == line_key).row(0, named=True)
    daily = da.line_daily_usage(snap, str(invoice["invoice_id"]), line_key)
    if daily.is_empty():
        st.caption("No metered usage behind this line (a fee-only tier line).")
        return
    total = daily.get_column("quantity").sum()
    st.text(
        f"{fmt.quantity(total)} {line['unit'] or ''} over {daily.height} day(s) "
        f"(the line bills {fmt.quantity(line['quantity'])})"
    )
    chart = (
        alt.Chart(ui.chart_frame(daily, ["quantity"]).to_pandas())
        .mark_bar()
        .encode(
            x=alt.X("usage_date:T", title="Day"),
            y=alt.Y("quantity:Q", title=f"Quantity ({line['unit'] or 'units'})"),
            tooltip=[
                alt.Tooltip("usage_date:T", title="Day"),
                alt.Tooltip("quantity:Q", title="Quantity", format=","),
                alt.Tooltip("event_count:Q", title="Events", format=","),
            ],
        )
        .properties(height=220)
    )
    st.altair_chart(chart, width="stretch")
    cols = st.columns([2, 5])
    with cols[0]:
        st.caption("Daily quantities (local days)")
        ui.show_table(
            daily.drop("dimension_rows"),
            currency_column=None,
            key="line_usage",
            height=300,
        )
    with cols[1], ui.section():
        events = da.line_events(
            snap, str(invoice["customer_id"]), str(invoice["invoice_id"]), line_key
        )
        count = int(events.item(0, "events_on_line")) if events.height else 0
        st.caption(
            f"First {events.height} of {count:,} events, with the file and row each came from"
        )
        ui.show_table(
            events.select(
                "event_time", "usage_date", "quantity", "file_path", "row_number", "event_id"
            ),
            currency_column=None,
            key="line_events",
            height=300,
            labels={"usage_date": "Local day"},
            empty="No events traced to this line.",
        )
    with st.expander("The line's usage by day and dimensions"):
        ui.show_table(
            da.line_usage_rows(snap, str(invoice["invoice_id"]), line_key),
            currency_column=None,
            key="line_usage_rows",
        )


def _downloads(invoice: dict[str, object], period: str) -> None:
    number = invoice["invoice_number"]
    if not isinstance(number, str):
        st.caption("CSV and PDF: available once the period is closed (`meterline close`).")
        return
    csv = da.invoice_export(period, number)
    pdf = da.invoice_export(period, number, "pdf")
    if csv is None and pdf is None:
        st.caption(fmt.md_escape(f"No export of {number} in exports/invoices/{period}/."))
        return
    cols = st.columns(2)
    if csv is not None:
        cols[0].download_button(
            f"Download {number}.csv",
            csv,
            file_name=f"{number}.csv",
            mime="text/csv",
            key="download_invoice",
            icon=":material/download:",
        )
    if pdf is not None:
        cols[1].download_button(
            f"Download {number}.pdf",
            pdf,
            file_name=f"{number}.pdf",
            mime="application/pdf",
            key="download_invoice_pdf",
            icon=":material/picture_as_pdf:",
        )


def _periods(snap: da.Snapshot) -> None:
    table = da.period_statuses(snap)
    left_open = table.filter(pl.col("has_drafts_before_issued"))
    if left_open.height:
        st.warning(
            fmt.md_escape(
                "Left open before an issued period: "
                + ", ".join(
                    f"{p} ({n} draft(s))"
                    for p, n in left_open.select("period", "draft_invoices").iter_rows()
                )
                + ". Periods close in order per customer: `meterline close --through <period>`."
            )
        )
    ui.show_table(
        table,
        currency_column=None,
        key="period_statuses",
        labels={"has_drafts_before_issued": "Left open", "period_status": "Status"},
        empty="No invoices yet.",
    )


def _credit_notes(snap: da.Snapshot, period: str) -> None:
    notes = da.credit_notes(snap, period)
    ui.show_table(
        notes,
        money=["amount", "tax", "total", "account_credit_used", "account_credit_balance"],
        hide=["customer_id", "currency"],
        key="credit_notes",
        labels={"credit_note_number": "Credit note no.", "invoice_number": "Credits invoice"},
        empty=f"No credit notes issued at the close of {period}.",
    )


def render() -> None:
    st.title("Invoices")
    snap = ui.current_snapshot()
    period = ui.require_period()
    if period is None:
        return
    ui.period_notice(snap, period)
    table = pl.DataFrame()
    with ui.section(f"Invoices — {ui.period_label(snap, period)}"):
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
    if not table.is_empty():
        with ui.section("Invoice detail"):
            _detail(snap, table, period)
    with ui.section(f"Credit notes — issued at the close of {period}"):
        _credit_notes(snap, period)
    with ui.section("Billing periods — issued vs draft"):
        _periods(snap)


render()
