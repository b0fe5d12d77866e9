"""meterline finance dashboard: the router (``st.navigation``), the shared period and customer
pickers, and one clear message when the published warehouse is missing or being refreshed.

Start it with ``meterline dashboard`` (or ``make dashboard``); it reads
``<data_dir>/published/warehouse.duckdb`` read-only.
"""

from __future__ import annotations

import streamlit as st

from dashboards import data_access as da

PAGES = [
    st.Page("app_pages/overview.py", title="Overview", icon=":material/monitoring:", default=True),
    st.Page("app_pages/invoices.py", title="Invoices", icon=":material/receipt_long:"),
    st.Page("app_pages/customer.py", title="Customer", icon=":material/person:"),
    st.Page("app_pages/cogs.py", title="COGS & margin", icon=":material/payments:"),
    st.Page("app_pages/contracts.py", title="Contracts", icon=":material/contract:"),
    st.Page("app_pages/alerts.py", title="Alerts", icon=":material/notifications:"),
    st.Page("app_pages/data_quality.py", title="Data quality", icon=":material/fact_check:"),
    st.Page("app_pages/pricing_lab.py", title="Pricing lab", icon=":material/science:"),
]


def _pickers(snap: da.Snapshot) -> None:
    """Period and customer pickers in the entrypoint, so their state survives page changes."""
    period_options = da.periods(snap)
    default = da.default_period(snap)
    st.sidebar.selectbox(
        "Billing period",
        period_options,
        index=period_options.index(default) if default in period_options else 0,
        key="period",
        help="Calendar month in each customer's time zone.",
        placeholder="no periods yet",
    )
    try:
        people = da.customers(snap)
    except (da.MartMissing, da.MartIncompatible):
        ids: list[str] = []
        names: dict[str, str] = {}
    else:
        ids = people.get_column("customer_id").to_list()
        names = dict(zip(ids, people.get_column("customer_name").to_list(), strict=True))
    st.sidebar.selectbox(
        "Customer",
        ids,
        key="customer_id",
        format_func=lambda cid: f"{names.get(cid, cid)} ({cid})" if names.get(cid) != cid else cid,
        placeholder="no customers yet",
    )


def main() -> None:
    st.set_page_config(
        page_title="meterline finance", page_icon=":material/monitoring:", layout="wide"
    )
    page = st.navigation(PAGES)
    st.sidebar.caption("meterline · finance")
    try:
        snap = da.snapshot()
        _pickers(snap)
        page.run()
    except da.DashboardDataError as exc:
        st.title(page.title)
        st.warning(str(exc), icon=":material/hourglass:")


main()
