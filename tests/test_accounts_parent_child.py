"""Parent/child accounts (issue 22), computed by hand.

customers.csv (all USD, UTC):
    cus_parent   Parent Corp, tax 10 %
    cus_child_a  parent cus_parent, bill_to_parent true   (tax 20 %: not used, the parent's is)
    cus_child_b  parent cus_parent, bill_to_parent true
    cus_solo     parent cus_parent, bill_to_parent false  (billed alone, tax 20 %)
Every one is on its own subscription of plan `team` v1: fee 100.00 / month, LLM input tokens
2.50 per 1,000,000 (gpt-4o*), images 0.04 each. Subscriptions start 2026-10-01, except
cus_child_b from 2026-10-11 (21 of 31 days). October usage (gpt-4o input tokens, images):
    cus_parent   1,000,000 tokens                -> 2.50
    cus_child_a  3,000,000 tokens, 250 images    -> 7.50 and 250 x 0.04 = 10.00
    cus_child_b    500,000 tokens                -> 1.25
    cus_solo     2,000,000 tokens                -> 5.00
The parent has a contract (2026-10-01, no end): 10 % usage discount and a monthly minimum
commitment of 500.00; and a prepaid credit grant of 50.00 (granted 2026-09-01, no expiry).
cus_child_b has a prepaid grant of 10.00 (priority 2): a billed child's grant is the account's.

Parent invoice 2026-10 (the account: parent + children billed to it), each line rounded once:
    own:      1 subscription 100.00   2 tokens 2.50
    child a:  3 subscription 100.00   4 images 10.00   5 tokens 7.50
    child b:  6 subscription 100.00 x 21/31 = 67.741935... -> 67.74   7 tokens 1.25
    fees 100.00 + 100.00 + 67.74 = 267.74;  usage 2.50 + 10.00 + 7.50 + 1.25 = 21.25
    8 discount  -round(21.25 x 10 %) = -2.125 -> -2.13 (half away from zero)
    committed spend 267.74 + 21.25 - 2.13 = 286.86
    9 minimum commitment 500.00 - 286.86 = 213.14;  subtotal 500.00
    10 credit  -min(500.00, 50.00 + 10.00) = -60.00;  taxable 440.00
    11 tax     440.00 x 10 % = 44.00;  total 484.00
The children get no invoice. cus_solo (bill_to_parent false) is billed alone, without the
parent's contract: 100.00 + 5.00 = 105.00, tax 20 % 21.00, total 126.00.

Daily spend (controls): the days of the account add up to the parent invoice's fees + usage +
discount = 267.74 + 21.25 - 2.13 = 286.86; the discount (-2.13) sits on the parent's days.

Closed, the parent's invoice is INV-202610-00001 (customer id order: cus_parent, cus_solo) with
its 11 lines, usage_customer_id per line, and the HTML shows a header per child.

A child in EUR billed to its USD parent is refused at load naming the file, row and problem; so
are a bill_to_parent without a parent, two levels, and a contract on a billed child."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from orchestration.close import close_period
from orchestration.config import Settings, settings
from orchestration.ingest import ReferenceDataError, ingest_reference
from orchestration.run_log import RunLog, write_run_log
from tests.support.ingest import write_reference
from tests.support.rating import (
    METERS,
    Scenario,
    _write_csv,
    dbt_build,
    event,
    load,
    query,
    write_data_dir,
)

pytestmark = pytest.mark.filterwarnings("ignore::Warning")

D = Decimal
PERIOD = "2026-10"
P, A, B, SOLO = "cus_parent", "cus_child_a", "cus_child_b", "cus_solo"

TEAM: dict[str, Any] = {
    "code": "team",
    "version": 1,
    "name": "Team",
    "currency": "USD",
    "effective_from": "2026-01-01",
    "fee": "100.00",
    "charges": [
        {
            "meter": "llm_input_tokens",
            "model": "per_unit",
            "price_per": 1000000,
            "prices": [{"when": {"model": "gpt-4o*"}, "unit_price": "2.50"}],
        },
        {
            "meter": "images",
            "model": "per_unit",
            "prices": [{"unit_price": "0.04"}],
        },
    ],
}

CUSTOMER_COLS = (
    "customer_id",
    "name",
    "currency",
    "timezone",
    "tax_rate",
    "segment",
    "parent_customer_id",
    "billing_email",
    "bill_to_parent",
)


def _customer(cid: str, name: str, tax: str, parent: str = "", billed: str = "") -> dict[str, str]:
    return {
        "customer_id": cid,
        "name": name,
        "currency": "USD",
        "timezone": "UTC",
        "tax_rate": tax,
        "segment": "enterprise",
        "parent_customer_id": parent,
        "billing_email": "",
        "bill_to_parent": billed,
    }


CUSTOMERS = [
    _customer(P, "Parent Corp", "0.1"),
    _customer(A, "Child A", "0.2", P, "true"),
    _customer(B, "Child B", "0.2", P, "true"),
    _customer(SOLO, "Solo", "0.2", P, "false"),
]


def _subscription(cid: str, start: str = "2026-10-01") -> dict[str, str]:
    return {
        "subscription_id": f"sub_{cid[4:]}",
        "customer_id": cid,
        "plan_code": "team",
        "start_date": start,
        "end_date": "",
    }


def _tokens(eid: str, cid: str, tokens: int) -> dict[str, Any]:
    return event(
        eid, cid, "llm.completion", "2026-10-15T12:00:00Z", model="gpt-4o-2024-08-06",
        input_tokens=tokens, output_tokens=0,
    )  # fmt: skip


def account() -> Scenario:
    return Scenario(
        customers=CUSTOMERS,
        subscriptions=[_subscription(P), _subscription(A), _subscription(B, "2026-10-11"),
                       _subscription(SOLO)],
        plans=[TEAM],
        meters=[m for m in METERS if m["code"] in ("llm_input_tokens", "images")],
        contracts=[
            {
                "contract_id": "ctr_parent",
                "customer_id": P,
                "start_date": "2026-10-01",
                "end_date": "",
                "commit_amount": "500.00",
                "commit_period": "month",
                "usage_discount_pct": "10",
                "renewal_notice_days": "",
            }
        ],
        credit_grants=[
            {
                "grant_id": "grant_parent",
                "customer_id": P,
                "amount": "50.00",
                "granted_at": "2026-09-01",
                "expires_at": "",
                "priority": "1",
                "kind": "paid",
            },
            {
                "grant_id": "grant_child_b",
                "customer_id": B,
                "amount": "10.00",
                "granted_at": "2026-09-01",
                "expires_at": "",
                "priority": "2",
                "kind": "paid",
            },
        ],
        events=[
            _tokens("p1", P, 1_000_000),
            _tokens("a1", A, 3_000_000),
            event("a2", A, "image.generation", "2026-10-16T12:00:00Z", images=250),
            _tokens("b1", B, 500_000),
            _tokens("s1", SOLO, 2_000_000),
            # the data's last event is on 2026-11-01: October is a finished period for the
            # controls (as-of day 2026-10-31); no November charge is asserted
            event("p2", P, "image.generation", "2026-11-01T00:30:00Z", images=0),
        ],
    )  # fmt: skip


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("accounts")
    sc = account()
    # the rating helper writes the classic customers.csv columns: write ours (bill_to_parent)
    # over its data directory's, then load and build
    data = root / "data"
    data.mkdir()
    write_data_dir(data, sc)
    _write_csv(data / "reference" / "customers.csv", CUSTOMER_COLS, CUSTOMERS)
    s = settings(data)
    load(s)
    dbt_build(
        s, "+fct_invoice_lines", "+fct_invoices", "+fct_unpriced_usage", "+fct_credit_ledger",
        "+fct_customer_daily_spend", unit_tests=False,
    )  # fmt: skip
    return s


def test_the_parent_invoice_carries_its_children_grouped(built: Settings) -> None:
    assert query(
        built,
        "select line_no, usage_customer_id, line_type, quantity, amount from "
        f"marts.fct_invoice_lines where invoice_id = '{P}:{PERIOD}' order by line_no",
    ) == [
        (1, P, "subscription", D("31"), D("100.00")),
        (2, P, "usage", D("1000000"), D("2.50")),
        (3, A, "subscription", D("31"), D("100.00")),
        (4, A, "usage", D("250"), D("10.00")),
        (5, A, "usage", D("3000000"), D("7.50")),
        (6, B, "subscription", D("21"), D("67.74")),
        (7, B, "usage", D("500000"), D("1.25")),
        (8, P, "discount", None, D("-2.13")),
        (9, P, "minimum_commitment", None, D("213.14")),
        (10, P, "credit", None, D("-60.00")),
        (11, P, "tax", D("440"), D("44.00")),
    ]
    keys = query(
        built,
        f"select line_key from marts.fct_invoice_lines where invoice_id = '{P}:{PERIOD}' "
        "and usage_customer_id <> customer_id order by line_no",
    )
    assert all(k.startswith(f"account:{c}:") for (k,), c in zip(keys, [A, A, A, B, B], strict=True))


def test_the_parent_contract_and_credit_apply_to_the_account(built: Settings) -> None:
    assert query(
        built,
        "select customer_id, fees_total, usage_total, discount_total, minimum_commitment_total, "
        "subtotal, credit_total, taxable_amount, tax_total, total, line_count "
        f"from marts.fct_invoices where period = '{PERIOD}' order by customer_id",
    ) == [
        (P, D("267.74"), D("21.25"), D("-2.13"), D("213.14"), D("500.00"), D("60.00"),
         D("440.00"), D("44.00"), D("484.00"), 11),
        (SOLO, D("100.00"), D("5.00"), D("0.00"), D("0.00"), D("105.00"), D("0.00"),
         D("105.00"), D("21.00"), D("126.00"), 3),
    ]  # fmt: skip


def test_a_child_not_billed_to_its_parent_is_billed_alone(built: Settings) -> None:
    assert query(
        built,
        "select line_no, usage_customer_id, line_type, amount from marts.fct_invoice_lines "
        f"where invoice_id = '{SOLO}:{PERIOD}' order by line_no",
    ) == [
        (1, SOLO, "subscription", D("100.00")),
        (2, SOLO, "usage", D("5.00")),
        (3, SOLO, "tax", D("21.00")),
    ]
    # the billed children have no invoice of their own
    assert query(
        built, f"select count(*) from marts.fct_invoices where customer_id in ('{A}', '{B}')"
    ) == [(0,)]


def test_the_account_days_add_up_to_the_parent_invoice(built: Settings) -> None:
    rows = dict(
        query(
            built,
            "select customer_id, sum(spend) from marts.fct_customer_daily_spend "
            f"where period = '{PERIOD}' group by customer_id",
        )
    )
    # own charges: parent 100.00 + 2.50 - 2.13 (the account discount) = 100.37,
    # a 100.00 + 10.00 + 7.50 = 117.50, b 67.74 + 1.25 = 68.99
    assert rows[P] == D("100.37")
    assert rows[A] == D("117.50")
    assert rows[B] == D("68.99")
    assert rows[P] + rows[A] + rows[B] == D("286.86")
    assert rows[SOLO] == D("105.00")


def test_close_issues_one_invoice_per_account(built: Settings) -> None:
    write_run_log(built, RunLog(status="succeeded", started_at="2026-11-05T00:00:00Z"))
    messages: list[str] = []
    ok = close_period(built, PERIOD, [], now=dt.datetime(2026, 11, 5), echo=messages.append)
    assert ok, "\n".join(messages)
    assert query(
        built,
        "select invoice_number, customer_id, total from ledger.issued_invoices order by 1",
    ) == [("INV-202610-00001", P, D("484.00")), ("INV-202610-00002", SOLO, D("126.00"))]
    # the child's grant burned on its parent's invoice, as the ledger recorded it
    assert query(
        built,
        "select invoice_number, customer_id, grant_id, burned from ledger.issued_credit_burns "
        "order by grant_id",
    ) == [
        ("INV-202610-00001", P, "grant_child_b", D("10.00")),
        ("INV-202610-00001", P, "grant_parent", D("50.00")),
    ]
    out: Path = built.exports_dir / "invoices" / PERIOD
    rows = list(
        csv.DictReader(io.StringIO((out / "INV-202610-00001.csv").read_text(encoding="utf-8-sig")))
    )
    assert [(r["line_no"], r["usage_customer_id"], r["line_type"], r["amount"]) for r in rows] == [
        ("1", P, "subscription", "100.00"),
        ("2", P, "usage", "2.50"),
        ("3", A, "subscription", "100.00"),
        ("4", A, "usage", "10.00"),
        ("5", A, "usage", "7.50"),
        ("6", B, "subscription", "67.74"),
        ("7", B, "usage", "1.25"),
        ("8", P, "discount", "-2.13"),
        ("9", P, "minimum_commitment", "213.14"),
        ("10", P, "credit", "-60.00"),
        ("11", P, "tax", "44.00"),
    ]
    html = (out / "INV-202610-00001.html").read_text(encoding="utf-8")
    assert html.count("Billed to this account: usage of") == 2
    assert html.index(f"usage of {A}") < html.index(f"usage of {B}")
    assert "484.00" in html


# --------------------------------------------------------------------------- refused at load

HEADER = ",".join(CUSTOMER_COLS) + "\n"


def _refused(s: Settings, customers: str, **files: str) -> list[str]:
    write_reference(s, {"customers.csv": HEADER + customers, **files})
    with pytest.raises(ReferenceDataError) as exc:
        ingest_reference(s)
    return str(exc.value).splitlines()[1:]


def test_a_child_in_another_currency_than_its_parent_is_refused(tmp_settings: Settings) -> None:
    lines = _refused(
        tmp_settings,
        "cus_acme,Acme,USD,UTC,0,,,,\ncus_beta,Beta,USD,UTC,0,,,,\n"
        "cus_euro,Euro GmbH,EUR,Europe/Berlin,0.19,,cus_acme,,true\n",
    )
    assert lines == [
        "reference/customers.csv: row 3: column 'currency': customer 'cus_euro' (EUR) is billed "
        "to parent 'cus_acme' (USD): a child billed to its parent must have the parent's currency"
    ]


def test_bill_to_parent_needs_a_parent_and_one_level(tmp_settings: Settings) -> None:
    lines = _refused(
        tmp_settings,
        "cus_acme,Acme,USD,UTC,0,,,,\ncus_beta,Beta,USD,UTC,0,,cus_acme,,true\n"
        "cus_euro,Euro GmbH,EUR,Europe/Berlin,0.19,,,,true\n"
        "cus_gamma,Gamma,USD,UTC,0,,cus_beta,,true\n",
    )
    assert lines == [
        "reference/customers.csv: row 3: column 'bill_to_parent': customer 'cus_euro' is billed "
        "to its parent but has no parent_customer_id",
        "reference/customers.csv: row 4: column 'bill_to_parent': parent 'cus_beta' of "
        "'cus_gamma' is itself billed to its parent (accounts have one level: bill the children "
        "to the top parent)",
    ]


def test_a_contract_on_a_billed_child_is_refused(tmp_settings: Settings) -> None:
    lines = _refused(
        tmp_settings,
        "cus_acme,Acme,USD,UTC,0,,cus_beta,,true\ncus_beta,Beta,USD,UTC,0,,,,\n"
        "cus_euro,Euro GmbH,EUR,Europe/Berlin,0.19,,,,\n",
    )
    # the reference set's contract is cus_acme's (its credit grant is accepted: the account's)
    assert lines == [
        "reference/contracts.csv: row 1: column 'customer_id': customer 'cus_acme' is billed to "
        "its parent (customers.csv bill_to_parent): put its contract on the parent, whose "
        "invoice carries its usage"
    ]


def test_an_account_month_is_finished_when_it_is_for_every_customer_on_it(
    tmp_path: Path,
) -> None:
    """Child A in New York, its parent in UTC: the data's last event (2026-11-01 00:30 UTC) is
    October 31 in New York, so the parent's as-of day is 2026-10-31 (October finished) and the
    child's 2026-10-30 (not). The controls test "daily spend adds up to the invoice" waits for
    the account's month to be finished for both; it compared the parent invoice with the parent's
    days alone and failed the build (found by the Spark bench at 10M, issue 21)."""
    import json

    customers = [
        {**c, "timezone": "America/New_York"} if c["customer_id"] == A else c for c in CUSTOMERS
    ]
    data = tmp_path / "data"
    data.mkdir()
    write_data_dir(data, account())
    _write_csv(data / "reference" / "customers.csv", CUSTOMER_COLS, customers)
    s = settings(data)
    load(s)
    dbt_build(s, "+fct_invoices", "+fct_customer_daily_spend", unit_tests=False)
    results = json.loads((tmp_path / "dbt" / "target" / "run_results.json").read_text())
    ran = {r["unique_id"].split(".")[2]: r["status"] for r in results["results"]}
    assert ran["assert_controls_daily_spend_adds_up_to_invoices"] == "pass"
    assert query(
        s,
        "select customer_id, max(as_of_date) from marts.fct_customer_daily_spend "
        f"where customer_id in ('{P}', '{A}') group by customer_id order by customer_id",
    ) == [(A, dt.date(2026, 10, 30)), (P, dt.date(2026, 10, 31))]
    # the invoice is the one computed by hand above (a child's own time zone moves no charge here)
    assert query(s, f"select total from marts.fct_invoices where invoice_id = '{P}:{PERIOD}'") == [
        (D("484.00"),)
    ]
