"""AppTest of every dashboard page against the contract fixture warehouse
(tests/support/dashboard.py), asserting the numbers shown."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.runtime.memory_media_file_storage import _calculate_file_id
from streamlit.testing.v1 import AppTest

from orchestration.config import Settings
from tests.support.dashboard import (
    CONTROLS_MARTS,
    COST_MARTS,
    publish,
    write_contract_fixture,
    write_exports,
)

APP = Path(__file__).resolve().parent.parent / "dashboards" / "streamlit_app.py"
NORTHWIND_SEPT_CSV = (
    b"invoice_number,customer_id,period_start,period_end,line_no,line_type,description,meter,"
    b"dimensions,quantity,unit,unit_price,amount,currency\r\n"
    b"INV-202609-00002,cus_northwind,2026-09-01,2026-10-01,1,subscription,Pro,,,1,month,"
    b"99.000000000000,99.00,USD\r\n"
)
SUMMARY_SEPT_CSV = b"invoice_number,customer_id,total\r\nINV-202609-00002,cus_northwind,1080.00\r\n"
RUN_LOG = {
    "status": "succeeded",
    "started_at": "2026-11-02T06:00:00Z",
    "finished_at": "2026-11-02T06:03:10Z",
    "stages": [{"name": "ingest", "seconds": 1.5, "ok": True, "detail": ""}],
    "checks": [
        {
            "asset": "raw/usage_events",
            "check": "rows_conserved",
            "passed": True,
            "blocking": True,
            "detail": "",
        },
        {
            "asset": "marts/fct_invoices",
            "check": "totals_match",
            "passed": False,
            "blocking": False,
            "detail": "1 row",
        },
    ],
    "error": None,
    "published": "published/warehouse.duckdb",
}


def _fixture(s: Settings, omit: tuple[str, ...] = ()) -> None:
    build = write_contract_fixture(s.data_dir / "build" / "warehouse.duckdb", omit=omit)
    publish(build, s)
    write_exports(
        s, "2026-09", {"INV-202609-00002.csv": NORTHWIND_SEPT_CSV, "summary.csv": SUMMARY_SEPT_CSV}
    )
    log = s.data_dir / ".meterline" / "last_run.json"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(json.dumps(RUN_LOG), encoding="utf-8")


@pytest.fixture
def published(tmp_settings: Settings) -> Settings:
    _fixture(tmp_settings)
    return tmp_settings


def open_page(page: str, at: AppTest | None = None) -> AppTest:
    at = at or AppTest.from_file(str(APP), default_timeout=30).run()
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def texts(at: AppTest) -> str:
    parts = [
        e.value
        for kind in ("info", "warning", "error", "markdown", "caption")
        for e in at.get(kind)
    ]
    # Markdown elements escape user text (formatting.md_escape): compare the text people read
    return re.sub(r"\\(.)", r"\1", "\n".join(str(p) for p in parts))


def frame(at: AppTest, *columns: str) -> pd.DataFrame:
    """The first table shown that has all of ``columns``."""
    for df in at.dataframe:
        value = df.value
        if all(c in value.columns for c in columns):
            return value
    raise AssertionError(f"no table with columns {columns}")


def pick(at: AppTest, label: str, value: object) -> AppTest:
    next(s for s in at.selectbox if s.label == label).set_value(value)
    return at.run()


def test_overview_period_against_previous(published: Settings) -> None:
    at = open_page("overview")
    assert at.selectbox(key="period").value == "2026-10"
    m = metrics(at)
    assert m["Revenue"] == "$1,119.00"
    assert m["COGS"] == "$148.60"
    assert m["Gross margin"] == "$970.40"
    assert m["Margin %"] == "86.7%"
    deltas = {x.label: x.delta for x in at.metric}
    assert deltas["Revenue"] == "+$80.00"  # 1,119.00 vs 1,039.00 in 2026-09
    assert deltas["COGS"] == "+$33.60"  # 148.60 vs 115.00
    lowest = at.dataframe[0].value
    assert list(lowest["Customer ID"])[:1] == ["cus_acme"]
    assert list(lowest["Customer"])[:1] == ["Acme Corp"]
    assert list(lowest["Gross margin"])[:1] == [-10.0]  # a number: the grid sorts it as one
    assert "1 customer(s) with a negative margin in 2026-10" in texts(at)


def test_invoices_worked_invoice_lines_and_daily_usage(published: Settings) -> None:
    at = open_page("invoices")
    m = metrics(at)
    assert (m["Invoices"], m["Drafts"], m["Issued"], m["Blocked"]) == ("3", "3", "0", "1")
    assert m["Billed total (USD)"] == "$1,299.00"
    listed = frame(at, "Customer", "Why blocked")
    assert list(listed["Customer"]) == ["Acme Corp", "Blocked Ltd", "Northwind Traders"]
    assert list(listed["Total"]) == [120.0, 99.0, 1080.0]
    assert list(listed["Why blocked"]) == [
        "",
        "unpriced usage: resolved_tickets (no_charge_for_meter)",
        "",
    ]
    unpriced = frame(at, "Why unpriced", "Meter")
    assert list(unpriced["Quantity"]) == [25.0]
    at.selectbox(key="customer_id").set_value("cus_northwind").run()
    m = metrics(at)
    assert m["Subtotal"] == "$1,000.00"
    assert m["Credits"] == "-$100.00"
    assert m["Tax"] == "$180.00"
    assert m["Total"] == "$1,080.00"
    lines = frame(at, "Line", "Type")
    assert list(lines["Amount"]) == [
        99.0,
        6.0,
        3.0,
        4.1,
        3.0,
        242.0,
        1.5,
        -25.96,
        667.36,
        -100.0,
        180.0,
    ]
    assert list(lines["Quantity"])[1] == "3,400,000"  # text: tax and credit lines have none
    # drill-down: the gpt-4o* input line is the gpt-4o days only, not claude's
    at = pick(at, "Usage line", "usage:2")
    daily = frame(at, "Day", "Quantity", "Events")
    assert list(daily["Quantity"]) == [1_400_000.0, 2_000_000.0]
    rows = frame(at, "Day", "Dimensions", "Quantity")
    assert set(rows["Dimensions"]) == {"model=gpt-4o-2024-08-06"}
    events = frame(at, "Event time (UTC)", "File", "Row")
    # the first 25 of 14 + 20 events, in time: 14 of 2026-10-03, 11 of 2026-10-17
    assert events["Quantity"].sum() == 2_500_000.0
    assert set(events["File"]) == {
        "raw/usage/batch_2026-10-03.jsonl",
        "raw/usage/batch_2026-10-17.jsonl",
    }
    assert "First 25 of 34 events" in texts(at)
    at = pick(at, "Usage line", "usage:3")
    assert list(frame(at, "Day", "Quantity", "Events")["Quantity"]) == [1_000_000.0]
    assert "available once the period is closed" in texts(at)


def test_invoices_download_serves_the_export_bytes(published: Settings) -> None:
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    at.selectbox(key="period").set_value("2026-09").run()
    at = open_page("invoices", at)
    at.selectbox(key="customer_id").set_value("cus_northwind").run()
    assert metrics(at)["Total"] == "$1,080.00"
    buttons = {b.label: b.proto.url for b in at.get("download_button")}
    invoice_id = _calculate_file_id(NORTHWIND_SEPT_CSV, "text/csv", "INV-202609-00002.csv")
    summary_id = _calculate_file_id(SUMMARY_SEPT_CSV, "text/csv", "summary-2026-09.csv")
    assert buttons["Download INV-202609-00002.csv"].endswith(f"/{invoice_id}.csv")
    assert buttons["Download summary.csv (2026-09)"].endswith(f"/{summary_id}.csv")


def test_invoices_show_credit_notes_and_issued_vs_draft_periods(published: Settings) -> None:
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    at.selectbox(key="period").set_value("2026-09").run()
    at = open_page("invoices", at)
    notes = frame(at, "Credit note no.", "Credits invoice")
    assert list(notes["Credit note no."]) == ["CN-202609-00001"]
    assert list(notes["Credits invoice"]) == ["INV-202609-00002"]
    assert list(notes["Settlement"]) == ["account_credit"]
    assert list(notes["Total"]) == [12.0]
    periods = frame(at, "Period", "Issued invoices", "Draft invoices")
    assert list(periods["Period"]) == ["2026-10", "2026-09"]
    assert list(periods["Issued invoices"]) == [0, 2]
    assert list(periods["Draft invoices"]) == [3, 0]
    at.selectbox(key="period").set_value("2026-10").run()
    assert "No credit notes issued at the close of 2026-10." in texts(at)


def test_customer_usage_budget_credits_contract(published: Settings) -> None:
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    at.selectbox(key="customer_id").set_value("cus_northwind").run()
    at = open_page("customer", at)
    m = metrics(at)
    assert m["Invoice subtotal"] == "$1,000.00"
    assert m["Invoice total"] == "$1,080.00"
    assert m["Spend to date"] == "$420.00"
    assert m["Monthly budget"] == "$500.00"
    assert m["Projected month-end"] == "$1,100.00"
    assert m["Highest threshold crossed"] == "80%"
    assert "Projected to cross by month-end: 100%, 150%, 200%." in texts(at)
    # the balance is the ledger's; the projection (as of 2026-11-01, the ledger's last entry)
    # agrees with it, and its exhaustion date lies ahead
    assert m["Credit balance (ledger)"] == "$100.00"
    assert m["Available after pending burn"] == "$60.00"
    assert m["Projected exhaustion"] == "2026-11-30"
    usage = frame(at, "Meter", "Dimensions", "Quantity")
    row = usage[
        (usage["Meter"] == "llm_input_tokens") & (usage["Dimensions"] == "model=gpt-4o-2024-08-06")
    ]
    assert list(row["Quantity"]) == [3_400_000.0]
    thresholds = frame(at, "Threshold %", "Threshold amount")
    assert list(thresholds["Threshold amount"]) == [250.0, 400.0, 500.0, 750.0, 1000.0]
    contracts = frame(at, "Contract", "Consumed to date")
    assert list(contracts["Consumed to date"]) == [1000.0, 2000.0]
    ledger = frame(at, "Grant", "Customer balance after")
    assert list(ledger["Customer balance after"]) == [300.0, 200.0, 100.0]
    history = frame(at, "Period", "Invoice no.", "Total")
    assert list(history["Period"]) == ["2026-10", "2026-09"]
    assert list(history["Total"]) == [1080.0, 1080.0]
    trend = frame(at, "Period", "Revenue", "Gross margin")
    assert list(trend["Gross margin"]) == [885.0, 881.4]


def test_cogs_breakdown_and_reconciliation(published: Settings) -> None:
    at = open_page("cogs")
    m = metrics(at)
    assert m["COGS"] == "$148.60"
    assert m["Direct"] == "$18.60"
    assert m["Allocated (shared)"] == "$130.00"
    assert (m["Matched"], m["Under metered"], m["Over billed"]) == ("2", "1", "0")
    by_customer = frame(at, "Customer", "COGS")
    assert dict(zip(by_customer["Customer"], by_customer["COGS"], strict=True)) == {
        "Acme Corp": 130.0,
        "Northwind Traders": 18.6,
    }
    by_feature = frame(at, "Feature", "COGS")
    assert list(by_feature["Feature"]) == ["(shared)", "support-bot", "search"]
    assert "Unattributed provider cost (billed, no metered usage): $1.50" in texts(at)
    billed = frame(at, "Service category", "Billed cost")
    assert dict(zip(billed["Provider"], billed["Billed cost"], strict=True)) == {
        "anthropic": 6.0,
        "coreweave": 130.0,
        "openai": 14.1,
    }
    under = frame(at, "Status", "Cost difference")
    assert list(under["Day"].astype(str)) == ["2026-10-17"]
    assert list(under["Cost difference"]) == [1.5]
    assert list(under["Token difference"]) == [600_000]


def test_contracts_at_risk_and_renewing(published: Settings) -> None:
    at = open_page("contracts")
    m = metrics(at)
    assert (m["Contracts"], m["At risk"], m["Renewal due"]) == ("2", "1", "1")
    assert m["Projected shortfall (true-up)"] == "$4,741.00"
    at_risk = frame(at, "Contract", "Projected shortfall")
    assert list(at_risk["Contract"])[:1] == ["ct_acme"]
    assert list(at_risk["Customer"])[:1] == ["Acme Corp"]
    assert list(at_risk["Projected shortfall"])[:1] == [4741.0]


def test_alerts_in_one_list(published: Settings) -> None:
    at = open_page("alerts")
    m = metrics(at)
    assert (m["Alerts"], m["Thresholds crossed"], m["Hard-limit breaches"], m["Anomalies"]) == (
        "7",
        "5",
        "1",
        "1",
    )
    assert m["Customers"] == "2"
    assert "Hard limit breached: Acme Corp" in texts(at)
    per_customer = frame(at, "Customer", "Alerts", "Highest threshold %")
    assert list(per_customer["Customer"]) == ["Acme Corp", "Northwind Traders"]
    assert list(per_customer["Alerts"]) == [5, 2]
    assert list(per_customer["Spend at last alert"]) == [120.0, 420.0]
    table = frame(at, "Alert", "Date", "Amount")
    assert list(table["Alert"]) == [
        "Anomaly",
        "Hard limit breached",
        "Threshold crossed",
        "Threshold crossed",
        "Threshold crossed",
        "Threshold crossed",
        "Threshold crossed",
    ]
    # the spend on the day of the crossing: 350.00 on 2026-10-08 for Northwind's 50%, not the
    # period's 420.00
    assert list(table["Amount"]) == [120.0, 120.0, 120.0, 120.0, 120.0, 350.0, 420.0]
    assert list(table["Compared with"])[:2] == [50.0, 100.0]
    at.multiselect(key="alert_types").set_value(["hard_limit"]).run()
    assert list(frame(at, "Alert", "Date", "Amount")["Customer"]) == ["Acme Corp"]


def test_data_quality_run_freshness_quarantine(published: Settings) -> None:
    at = open_page("data_quality")
    m = metrics(at)
    assert m["Last run"] == "succeeded"
    assert (m["Checks"], m["Failed"], m["Failed, blocking"]) == ("2", "1", "0")
    assert m["Quarantined rows"] == "2"
    checks = frame(at, "Asset", "Check", "Passed")
    assert list(checks["Check"]) == ["totals_match", "rows_conserved"]  # failed first
    assert list(checks["Passed"]) == ["no", "yes"]
    assert list(checks.columns)[:3] == ["Asset", "Check", "Passed"]
    freshness = frame(at, "Source", "Latest file arrived")
    assert list(freshness["Source"]) == ["openai", "usage"]
    assert list(freshness["Quarantined"]) == [0, 2]
    examples = frame(at, "Reason", "Raw record")
    assert set(examples["Reason"]) == {"unknown_customer", "negative_quantity"}


def test_pickers_keep_state_across_pages(published: Settings) -> None:
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    at = open_page("customer", at)
    at.selectbox(key="customer_id").set_value("cus_northwind").run()
    at.selectbox(key="period").set_value("2026-09").run()
    at = open_page("invoices", at)
    assert at.selectbox(key="customer_id").value == "cus_northwind"
    assert at.selectbox(key="period").value == "2026-09"
    assert "Northwind Traders (cus_northwind)" in "\n".join(t.value for t in at.text)
    at = open_page("overview", at)
    assert at.selectbox(key="period").value == "2026-09"


@pytest.mark.parametrize(
    "page", ["overview", "invoices", "customer", "cogs", "contracts", "alerts", "data_quality"]
)
def test_missing_warehouse_is_a_message(tmp_settings: Settings, page: str) -> None:
    at = open_page(page)
    assert "run `meterline run` first" in texts(at)
    assert not at.dataframe


def test_controls_marts_not_available_yet(tmp_settings: Settings) -> None:
    _fixture(tmp_settings, omit=CONTROLS_MARTS)
    at = open_page("contracts")
    assert "Not available yet: `marts.fct_contract_progress`" in texts(at)
    at = open_page("alerts", at)
    assert "Not available yet: `marts.fct_alerts`" in texts(at)
    at = pick(open_page("customer", at), "Customer", "cus_northwind")
    shown = texts(at)
    assert "Not available yet: `marts.fct_spend_alerts`" in shown
    assert "Not available yet: `marts.fct_credit_balances`" in shown
    assert metrics(at)["Invoice total"] == "$1,080.00"  # the rest of the page still renders


def test_cost_marts_not_available_yet(tmp_settings: Settings) -> None:
    _fixture(tmp_settings, omit=COST_MARTS)
    at = open_page("overview")
    assert "Not available yet: `marts.fct_customer_margin`" in texts(at)
    at = open_page("cogs", at)
    shown = texts(at)
    assert "Not available yet: `marts.fct_customer_cogs_breakdown`" in shown
    assert "Not available yet: `marts.fct_cogs_daily`" in shown
    assert "Not available yet: `marts.fct_cost_reconciliation`" in shown
    at = open_page("invoices", at)  # periods still come from the invoices
    assert metrics(at)["Invoices"] == "3"


def test_snapshot_being_replaced_is_a_message(tmp_settings: Settings) -> None:
    path = tmp_settings.published_warehouse
    path.parent.mkdir(parents=True)
    path.write_bytes(b"half-copied snapshot" * 512)  # not (yet) a DuckDB file
    at = open_page("invoices")
    assert "is being refreshed right now; reload the page in a few seconds" in texts(at)
    assert not at.dataframe
