"""AppTest of every dashboard page against the contract fixture warehouse
(tests/support/dashboard.py), asserting the numbers shown."""

from __future__ import annotations

import json
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
    return "\n".join(str(p) for p in parts)


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
    assert list(lowest["customer_id"])[:1] == ["cus_acme"]
    assert list(lowest["gross_margin"])[:1] == ["-$10.00"]
    assert "1 customer(s) with a negative margin in 2026-10" in texts(at)


def test_invoices_worked_invoice_lines_and_daily_usage(published: Settings) -> None:
    at = open_page("invoices")
    m = metrics(at)
    assert (m["Invoices"], m["Drafts"], m["Issued"], m["Blocked"]) == ("3", "3", "0", "1")
    assert m["Billed total (USD)"] == "$1,299.00"
    blocked = frame(at, "invoice_id", "blocked_reason")
    assert list(blocked["blocked_reason"]) == [
        "unpriced usage: resolved_tickets (no_charge_for_meter)"
    ]
    unpriced = frame(at, "unpriced_reason", "meter_code")
    assert list(unpriced["quantity"]) == ["25"]
    at = pick(at, "Invoice", "cus_northwind:2026-10")
    m = metrics(at)
    assert m["Subtotal"] == "$1,000.00"
    assert m["Credits"] == "-$100.00"
    assert m["Tax"] == "$180.00"
    assert m["Total"] == "$1,080.00"
    lines = frame(at, "line_no", "line_type")
    assert list(lines["amount"]) == [
        "$99.00",
        "$6.00",
        "$3.00",
        "$4.10",
        "$3.00",
        "$242.00",
        "$1.50",
        "-$25.96",
        "$667.36",
        "-$100.00",
        "$180.00",
    ]
    assert list(lines["quantity"])[1] == "3,400,000"
    # drill-down: the gpt-4o* input line is the gpt-4o days only, not claude's
    at = pick(at, "Usage line", 2)
    daily = frame(at, "usage_date", "dimensions", "quantity")
    assert list(daily["quantity"]) == ["1,400,000", "2,000,000"]
    assert set(daily["dimensions"]) == {"model=gpt-4o-2024-08-06"}
    at = pick(at, "Usage line", 3)
    assert list(frame(at, "usage_date", "dimensions", "quantity")["quantity"]) == ["1,000,000"]
    assert "available once the period is closed" in texts(at)


def test_invoices_download_serves_the_export_bytes(published: Settings) -> None:
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    at.selectbox(key="period").set_value("2026-09").run()
    at = open_page("invoices", at)
    at = pick(at, "Invoice", "cus_northwind:2026-09")
    assert metrics(at)["Total"] == "$1,080.00"
    buttons = {b.label: b.proto.url for b in at.get("download_button")}
    invoice_id = _calculate_file_id(NORTHWIND_SEPT_CSV, "text/csv", "INV-202609-00002.csv")
    summary_id = _calculate_file_id(SUMMARY_SEPT_CSV, "text/csv", "summary-2026-09.csv")
    assert buttons["Download INV-202609-00002.csv"].endswith(f"/{invoice_id}.csv")
    assert buttons["Download summary.csv (2026-09)"].endswith(f"/{summary_id}.csv")


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
    assert m["Credit balance"] == "$100.00"
    assert m["Available after pending burn"] == "$60.00"
    assert m["Projected exhaustion"] == "2026-11-30"
    assert m["Credit balance per ledger"] == "$100.00"
    usage = frame(at, "meter_code", "dimensions", "quantity")
    row = usage[
        (usage["meter_code"] == "llm_input_tokens")
        & (usage["dimensions"] == "model=gpt-4o-2024-08-06")
    ]
    assert list(row["quantity"]) == ["3,400,000"]
    thresholds = frame(at, "threshold_pct", "threshold_amount")
    assert list(thresholds["threshold_amount"]) == [
        "$250.00",
        "$400.00",
        "$500.00",
        "$750.00",
        "$1,000.00",
    ]
    contracts = frame(at, "contract_id", "consumed_to_date")
    assert list(contracts["consumed_to_date"]) == ["$1,000.00", "$2,000.00"]
    ledger = frame(at, "grant_id", "customer_balance_after")
    assert list(ledger["customer_balance_after"]) == ["$300.00", "$200.00", "$100.00"]


def test_cogs_breakdown_and_reconciliation(published: Settings) -> None:
    at = open_page("cogs")
    m = metrics(at)
    assert m["COGS"] == "$148.60"
    assert m["Direct"] == "$18.60"
    assert m["Allocated (shared)"] == "$130.00"
    assert (m["Matched"], m["Under metered"], m["Over billed"]) == ("2", "1", "0")
    by_customer = frame(at, "customer", "cogs_total")
    assert dict(zip(by_customer["customer"], by_customer["cogs_total"], strict=True)) == {
        "cus_acme": "$130.00",
        "cus_northwind": "$18.60",
    }
    by_feature = frame(at, "feature", "cogs_total")
    assert list(by_feature["feature"]) == ["(shared)", "support-bot", "search"]
    assert "Unattributed provider cost (billed, no metered usage): $1.50" in texts(at)
    billed = frame(at, "service_category", "billed_cost")
    assert dict(zip(billed["provider"], billed["billed_cost"], strict=True)) == {
        "anthropic": "$6.00",
        "coreweave": "$130.00",
        "openai": "$14.10",
    }
    under = frame(at, "status", "cost_difference")
    assert list(under["usage_date"].astype(str)) == ["2026-10-17"]
    assert list(under["cost_difference"]) == ["$1.50"]
    assert list(under["token_difference"]) == ["600,000"]


def test_contracts_at_risk_and_renewing(published: Settings) -> None:
    at = open_page("contracts")
    m = metrics(at)
    assert (m["Contracts"], m["At risk"], m["Renewal due"]) == ("2", "1", "1")
    assert m["Projected shortfall (true-up)"] == "$4,741.00"
    at_risk = frame(at, "contract_id", "projected_shortfall")
    assert list(at_risk["contract_id"])[:1] == ["ct_acme"]
    assert list(at_risk["projected_shortfall"])[:1] == ["$4,741.00"]


def test_alerts_in_one_list(published: Settings) -> None:
    at = open_page("alerts")
    m = metrics(at)
    assert (m["Alerts"], m["Thresholds crossed"], m["Hard-limit breaches"], m["Anomalies"]) == (
        "7",
        "5",
        "1",
        "1",
    )
    assert "Hard limit breached: cus_acme" in texts(at)
    table = frame(at, "alert_type", "alert_date")
    assert list(table["alert_type"]) == [
        "anomaly",
        "hard_limit",
        "threshold",
        "threshold",
        "threshold",
        "threshold",
        "threshold",
    ]
    assert list(table["amount"])[:2] == ["$120.00", "$120.00"]
    assert list(table["reference_amount"])[:2] == ["$50.00", "$100.00"]


def test_data_quality_run_freshness_quarantine(published: Settings) -> None:
    at = open_page("data_quality")
    m = metrics(at)
    assert m["Last run"] == "succeeded"
    assert (m["Checks"], m["Failed"], m["Failed, blocking"]) == ("2", "1", "0")
    assert m["Quarantined rows"] == "2"
    checks = frame(at, "asset", "check", "passed")
    assert list(checks["check"]) == ["totals_match", "rows_conserved"]  # failed first
    assert list(checks.columns)[:3] == ["asset", "check", "passed"]
    freshness = frame(at, "source", "latest_arrival")
    assert list(freshness["source"]) == ["openai", "usage"]
    assert list(freshness["quarantined_rows"]) == ["0", "2"]
    examples = frame(at, "reason_code", "raw_record")
    assert set(examples["reason_code"]) == {"unknown_customer", "negative_quantity"}


def test_pickers_keep_state_across_pages(published: Settings) -> None:
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    at = open_page("customer", at)
    at.selectbox(key="customer_id").set_value("cus_northwind").run()
    at.selectbox(key="period").set_value("2026-09").run()
    at = open_page("invoices", at)
    assert at.selectbox(key="customer_id").value == "cus_northwind"
    assert at.selectbox(key="period").value == "2026-09"
    assert at.selectbox(key="invoice_pick").value == "cus_northwind:2026-09"
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
    assert "Not available yet: `marts.fct_spend_alerts`" in texts(at)
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
