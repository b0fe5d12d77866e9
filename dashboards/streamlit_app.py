"""meterline finance dashboard: the router (``st.navigation``), the shared period and customer
pickers, and one clear message when the published warehouse is missing or being refreshed.

Start it with ``meterline dashboard`` (or ``make dashboard``); it reads
``<data_dir>/published/warehouse.duckdb`` read-only.
"""

from __future__ import annotations

import streamlit as st

from dashboards import components as ui
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


def _initial(key: str, param: str, options: list[str], default: str | None) -> None:
    """Seed a picker before it is drawn: from the URL (``?period=&customer=``) on the first run
    of a session, else keep the session's value, else ``default``."""
    wanted = st.query_params.get(param)
    if key not in st.session_state or st.session_state[key] not in options:
        st.session_state[key] = wanted if wanted in options else default


def _pickers(snap: da.Snapshot) -> None:
    """Period and customer pickers in the entrypoint, so their state survives page changes;
    both are mirrored in the URL (``?period=2026-10&customer=cus_acme``), so a link reproduces
    the view. Options are shown as plain text (never Markdown)."""
    try:
        table = da.periods(snap)
    except (da.MartMissing, da.MartIncompatible):
        table = None
    period_options = table.get_column("period").to_list() if table is not None else []
    labels = (
        dict(zip(period_options, table.get_column("period_label").to_list(), strict=True))
        if table is not None
        else {}
    )
    _initial(
        "period", "period", period_options, da.default_period(snap) if table is not None else None
    )
    st.sidebar.selectbox(
        "Billing period",
        period_options,
        key="period",
        format_func=lambda p: labels.get(p, p),
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
    _initial("customer_id", "customer", ids, ids[0] if ids else None)
    st.sidebar.selectbox(
        "Customer",
        ids,
        key="customer_id",
        format_func=lambda cid: ui.customer_label(names.get(cid), cid),
        placeholder="no customers yet",
    )
    params = {
        "period": st.session_state.get("period"),
        "customer": st.session_state.get("customer_id"),
    }
    for name, value in params.items():
        if value is None:
            st.query_params.pop(name, None)
        elif st.query_params.get(name) != value:
            st.query_params[name] = value


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
