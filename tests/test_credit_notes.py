"""Credit notes (issue 17), on the lifecycle scenario (tests/support/lifecycle.py), hand-computed.

September and October are issued (INV-202609-00001: 191.00 paid by the grant, total 0.00;
INV-202610-00001: line 2 images 242.00, credit 309.00, tax 6.40, total 38.40). A request credits
20.00 of October's image line as account credit. November's close issues it as CN-202611-00001:
20.00 + 20% tax 4.00 = 24.00 of account credit, granted at the close (2026-12-03), so December
burns it like a paid grant: December's fee 99.00 - 24.00 = 75.00 taxable, tax 15.00, total
90.00. Then 100 late October images: October now rates 6,100 images = 50.00 + 162.00 + 33.00 =
245.00, +3.00 against the issued 242.00 (not against 242.00 - the note: the note is its own
document): December 102.00 - 24.00 = 78.00, tax 15.60, total 93.60.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal as D
from typing import Any

import pytest

from orchestration import credit_notes
from orchestration.close import CloseRefused
from orchestration.config import Settings
from orchestration.exports import render_period
from orchestration.warehouse import connect
from tests.support.lifecycle import C, scenario
from tests.support.rating import build_from_scenario, dbt_build, event, issue_period, load, query

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::Warning")]

OCT = "INV-202610-00001"


def request(**overrides: str) -> dict[str, str]:
    row = {
        "credit_note_id": "cn_req_1",
        "invoice_number": OCT,
        "line_no": "2",
        "amount": "20.00",
        "quantity": "",
        "reason": "disputed images",
        "settlement": "account_credit",
        "currency": "USD",
    }
    return row | overrides


def notes_csv(s: Settings):  # noqa: ANN201
    return s.data_dir / "reference" / "credit_notes.csv"


@pytest.fixture(scope="module")
def noted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    s = build_from_scenario(tmp_path_factory.mktemp("notes"), scenario())
    issue_period(s, "2026-09", issued_at="2026-10-03 00:00:00")
    dbt_build(s, unit_tests=False, data_tests=False)
    issue_period(s, "2026-10", issued_at="2026-11-03 00:00:00")
    dbt_build(s, unit_tests=False, data_tests=False)
    credit_notes.append_request(notes_csv(s), request())
    issue_period(s, "2026-11", issued_at="2026-12-03 00:00:00")
    dbt_build(s, "+marts.billing", "stg_ledger__issued_invoice_hashes", unit_tests=False)
    with connect(s.warehouse, read_only=True) as con:
        export = render_period(con, "2026-11")
    return {"s": s, "export": export}


def test_the_note_is_numbered_at_the_next_close(noted: dict[str, Any]) -> None:
    s = noted["s"]
    assert query(
        s,
        "select credit_note_number, credit_note_id, invoice_number, line_no, line_type, amount, "
        "tax, total, settlement, period, account_credit_used, account_credit_balance "
        "from marts.fct_credit_notes",
    ) == [
        (
            "CN-202611-00001",
            "cn_req_1",
            OCT,
            2,
            "usage",
            D("20.00"),
            D("4.00"),
            D("24.00"),
            "account_credit",
            "2026-11",
            D("24.00"),
            D("0.00"),
        )
    ]
    assert noted["export"]["credit_notes.csv"].decode() == "\ufeff" + (
        "credit_note_number,credit_note_id,customer_id,invoice_number,invoice_period,line_no,"
        "line_type,quantity,reason,settlement,currency,amount,tax,total\n"
        "CN-202611-00001,cn_req_1,cus_northwind,INV-202610-00001,2026-10,2,usage,,"
        "disputed images,account_credit,USD,20.00,4.00,24.00\n"
    )


def test_account_credit_is_burned_like_a_paid_grant(noted: dict[str, Any]) -> None:
    s = noted["s"]
    assert query(
        s,
        "select period, status, subtotal, credit_total, tax_total, total from marts.fct_invoices "
        "where period >= '2026-11' order by period",
    ) == [
        ("2026-11", "issued", D("99.00"), D("0.00"), D("19.80"), D("118.80")),
        ("2026-12", "draft", D("99.00"), D("24.00"), D("15.00"), D("90.00")),
    ]
    assert query(
        s,
        "select entry_type, period, amount, grant_balance_after from marts.fct_credit_ledger "
        "where grant_id = 'CN-202611-00001' order by entry_at, entry_type",
    ) == [("grant", None, D("24.00"), D("24.00")), ("burn", "2026-12", D("-24.00"), D("0.00"))]


def test_notes_over_what_is_open_are_refused_naming_file_and_line(
    noted: dict[str, Any],
) -> None:
    s = noted["s"]
    path = notes_csv(s)
    cases = [
        (
            request(credit_note_id="cn_big", amount="250.00"),
            "amount 250.00 is more than line 2 of INV-202610-00001 still open to credit (222.00)",
        ),
        (
            # the line has 222.00 left, but the invoice's taxable 32.00 less 20.00 credited: 12.00
            request(credit_note_id="cn_over_invoice", amount="15.00"),
            "amount 15.00 is more than invoice INV-202610-00001 still open to credit (12.00)",
        ),
        (
            request(credit_note_id="cn_eur", currency="EUR"),
            "currency 'EUR' is not the invoice's currency USD",
        ),
        (
            request(credit_note_id="cn_qty", amount="", quantity="7000"),
            "quantity 7000 is more than line 2 of INV-202610-00001 still open to credit (6000)",
        ),
        (
            request(credit_note_id="cn_unknown", invoice_number="INV-202612-00001"),
            "invoice 'INV-202612-00001' is not an issued invoice",
        ),
    ]
    with connect(s.warehouse, read_only=True) as con:
        for row, problem in cases:
            with pytest.raises(credit_notes.CreditNoteError) as err:
                credit_notes.validate(con, path, [request(), row])
            assert (
                str(err.value) == f"{path} line 3: credit note {row['credit_note_id']}: {problem}"
            )
        # by quantity: 600 of 6,000 images = 242.00 x 600 / 6000 = 24.20 > 12.00 open
        with pytest.raises(credit_notes.CreditNoteError, match=r"amount 24.20 is more than"):
            credit_notes.validate(
                con, path, [request(credit_note_id="cn_q", amount="", quantity="600")]
            )


def test_a_bad_note_refuses_the_whole_close(noted: dict[str, Any]) -> None:
    s = noted["s"]
    path = notes_csv(s)
    before = path.read_text()
    credit_notes.append_request(path, request(credit_note_id="cn_big", amount="250.00"))
    try:
        with pytest.raises(CloseRefused, match=r"credit_notes.csv line 3: credit note cn_big"):
            issue_period(s, "2026-12", issued_at="2027-01-03 00:00:00")
        assert query(s, "select count(*) from ledger.issued_invoices where period = '2026-12'") == [
            (0,)
        ]
    finally:
        path.write_text(before)


def test_a_late_event_after_a_credit_note(noted: dict[str, Any]) -> None:
    s = noted["s"]
    late = s.data_dir / "raw" / "usage" / "usage_late_2026-12-05.jsonl"
    late.write_text(
        json.dumps(event("o_late", C, "image.generation", "2026-10-20T12:00:00Z", images=100))
        + "\n"
    )
    load(s)
    dbt_build(s, "+marts.billing", "stg_ledger__issued_invoice_hashes", unit_tests=False)
    assert query(
        s,
        "select line_type, description, amount from marts.fct_invoice_lines "
        "where period = '2026-12' and line_type = 'adjustment'",
    ) == [
        (
            "adjustment",
            "Late usage for 2026-10: Images · graduated: 1,000 × 0.05 + 4,000 × 0.04 + 2.00 "
            "+ 1,100 × 0.03",
            D("3.00"),
        )
    ]
    assert query(
        s,
        "select subtotal, credit_total, tax_total, total from marts.fct_invoices "
        "where period = '2026-12'",
    ) == [(D("102.00"), D("24.00"), D("15.60"), D("93.60"))]
    assert query(s, "select amount, total from marts.fct_credit_notes") == [
        (D("20.00"), D("24.00"))
    ]


def test_account_credit_has_a_balance_like_a_paid_grant(noted: dict[str, Any]) -> None:
    """fct_credit_balances reads the same grants as the ledger: once the data reaches December
    (one image on 2026-12-10, last test of the module), the note's account credit has a balance
    from the day it was granted (2026-12-03, its close) to the as-of day (12-09), and December's
    spend not yet invoiced is charged against it first (priority 0, like a paid grant)."""
    s = noted["s"]
    december = s.data_dir / "raw" / "usage" / "usage_2026-12-10.jsonl"
    december.write_text(
        json.dumps(event("d_1", C, "image.generation", "2026-12-10T12:00:00Z", images=1)) + "\n"
    )
    load(s)
    dbt_build(s, "+fct_credit_balances", unit_tests=False, data_tests=False)
    rows = query(
        s,
        "select min(balance_date), max(balance_date), count(*), min(granted_to_date), "
        "max(granted_to_date), max(burned_to_date), any_value(kind), any_value(priority) "
        "from marts.fct_credit_balances where grant_id = 'CN-202611-00001'",
    )
    assert rows == [
        (
            dt.date(2026, 12, 3),
            dt.date(2026, 12, 9),  # the as-of day: the last complete day of the data
            7,
            D("24.00"),
            D("24.00"),
            D("0.00"),
            "paid",
            0,
        )
    ]
    # December to date (its fee alone is 99.00) is charged against it first: all 24.00 pending
    assert query(
        s,
        "select balance, burn_rank, pending_burn, available_balance from "
        "marts.fct_credit_balances where grant_id = 'CN-202611-00001' and is_as_of",
    ) == [(D("24.00"), 1, D("24.00"), D("0.00"))]
