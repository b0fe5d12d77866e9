"""End to end: PRICING.md's worked invoice (cus_northwind, October 2026) from events, through
the real loader and the real dbt build, every line and the total 1080.00 to the cent. This build
also runs the rating models' dbt unit tests and the billing data tests (invariants)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from orchestration.config import Settings
from tests.support.rating import MARTS, build_from_scenario, northwind, query

EXPECTED_LINES = [
    (1, "subscription", "subscription:sub_nw_1:pro:v1", None, None, "31", "99.00"),
    (2, "usage", "usage:sub_nw_1:api_requests:3:0", "api_requests", None, "2001", "1.50"),
    (3, "usage", "usage:sub_nw_1:images:2:0", "images", None, "6000", "242.00"),
    (
        4,
        "usage",
        "usage:sub_nw_1:llm_input_tokens:0:1",
        "llm_input_tokens",
        "model=gpt-4o*",
        "3400000",
        "6.00",
    ),
    (
        5,
        "usage",
        "usage:sub_nw_1:llm_input_tokens:0:2",
        "llm_input_tokens",
        "model=claude-sonnet-4-5*",
        "1000000",
        "3.00",
    ),
    (
        6,
        "usage",
        "usage:sub_nw_1:llm_output_tokens:1:0",
        "llm_output_tokens",
        "model=gpt-4o*",
        "410000",
        "4.10",
    ),
    (
        7,
        "usage",
        "usage:sub_nw_1:llm_output_tokens:1:1",
        "llm_output_tokens",
        "model=claude-sonnet-4-5*",
        "200000",
        "3.00",
    ),
    (8, "discount", "discount:ctr_nw", None, None, None, "-25.96"),
    (9, "minimum_commitment", "minimum_commitment:ctr_nw", None, None, None, "667.36"),
    (10, "credit", "credit", None, None, None, "-100.00"),
    (11, "tax", "tax", None, None, "900", "180.00"),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return build_from_scenario(tmp_path_factory.mktemp("northwind"), northwind(), unit_tests=True)


def test_every_line_of_the_worked_invoice(built: Settings) -> None:
    rows = query(
        built,
        """
        select line_no, line_type, line_key, meter_code, dimensions, quantity, amount
        from marts.fct_invoice_lines where invoice_id = 'cus_northwind:2026-10' order by line_no""",
    )
    got = [(n, t, k, m, d, None if q is None else q.normalize(), a) for n, t, k, m, d, q, a in rows]
    want = [
        (n, t, k, m, d, None if q is None else Decimal(q).normalize(), Decimal(a))
        for n, t, k, m, d, q, a in EXPECTED_LINES
    ]
    assert got == want


def test_worked_invoice_totals(built: Settings) -> None:
    [row] = query(
        built,
        """
        select fees_total, usage_total, discount_total, minimum_commitment_total, subtotal,
               credit_total, promotional_credit_total, taxable_amount, tax_total, total, status,
               invoice_number, is_blocked, line_count
        from marts.fct_invoices where customer_id = 'cus_northwind'""",
    )
    assert row == (
        Decimal("99.00"),
        Decimal("259.60"),
        Decimal("-25.96"),
        Decimal("667.36"),
        Decimal("1000.00"),
        Decimal("100.00"),
        Decimal("100.00"),
        Decimal("900.00"),
        Decimal("180.00"),
        Decimal("1080.00"),
        "draft",
        None,
        False,
        11,
    )


def test_credit_ledger_of_the_worked_invoice(built: Settings) -> None:
    rows = query(
        built,
        """
        select ledger_entry_id, entry_type, amount, grant_balance_after
        from marts.fct_credit_ledger order by entry_at, ledger_entry_id""",
    )
    assert rows == [
        ("grant:grant_nw_promo", "grant", Decimal("100.00"), Decimal("100.00")),
        ("burn:grant_nw_promo:2026-10", "burn", Decimal("-100.00"), Decimal("0.00")),
    ]


def test_nothing_unpriced_and_failed_and_duplicate_events_not_billed(built: Settings) -> None:
    assert query(built, "select count(*) from marts.fct_unpriced_usage") == [(0,)]
    # e3 (status error, 9M tokens) and the second delivery of e1 are not in the usage
    [(events, tokens)] = query(
        built,
        """
        select sum(event_count), sum(quantity) from marts.fct_usage_daily
        where meter_code = 'llm_input_tokens'""",
    )
    assert (events, tokens) == (3, Decimal("4400000"))


def test_money_columns_are_decimal(built: Settings) -> None:
    rows = query(
        built,
        f"""
        select table_name, column_name, data_type from information_schema.columns
        where table_schema = 'marts' and table_name in {tuple(MARTS)!r}
          and (column_name in ('amount', 'unit_price', 'subtotal', 'total', 'tax_total',
                               'credit_total', 'discount_total', 'fees_total', 'usage_total',
                               'minimum_commitment_total', 'adjustment_total', 'taxable_amount',
                               'promotional_credit_total', 'grant_balance_after',
                               'customer_balance_after', 'quantity')
               or data_type in ('DOUBLE', 'FLOAT', 'REAL'))""",
    )
    assert rows, "no money columns found"
    bad = [r for r in rows if not r[2].startswith("DECIMAL")]
    assert bad == []
    amounts = {(t, c): d for t, c, d in rows if c in ("amount", "total")}
    assert amounts[("fct_invoice_lines", "amount")] == "DECIMAL(38,2)"
    assert amounts[("fct_invoices", "total")] == "DECIMAL(38,2)"


def test_data_dir_is_written_for_the_loader(built: Settings) -> None:
    ref = Path(built.data_dir) / "reference"
    assert (ref / "meters.yml").exists() and (ref / "plans" / "pro_v1.yml").exists()


def test_each_usage_line_states_its_price_basis(built: Settings) -> None:
    """quantity x unit_price / price_per (less free units) = amount, checkable from the line:
    the description says the basis in words, price_per carries it as a number."""
    rows = query(
        built,
        """
        select line_no, description, unit_price, price_per, amount from marts.fct_invoice_lines
        where invoice_id = 'cus_northwind:2026-10' and line_type = 'usage' order by line_no""",
    )
    assert [
        (n, d, None if u is None else u.normalize(), None if p is None else p.normalize(), a)
        for n, d, u, p, a in rows
    ] == [
        (
            2,
            "API requests · 3 packages × 0.50 per package of 1,000 requests",
            Decimal("0.5"),
            Decimal("1"),
            Decimal("1.50"),
        ),
        (
            3,
            "Images · graduated: 1,000 × 0.05 + 4,000 × 0.04 + 2.00 + 1,000 × 0.03",
            None,
            Decimal("1"),
            Decimal("242.00"),
        ),
        (
            4,
            "LLM input tokens · model=gpt-4o* · 2.50 per 1,000,000 tokens, first 1,000,000 free",
            Decimal("2.5"),
            Decimal("1E+6"),
            Decimal("6.00"),
        ),
        (
            5,
            "LLM input tokens · model=claude-sonnet-4-5* · 3.00 per 1,000,000 tokens",
            Decimal("3"),
            Decimal("1E+6"),
            Decimal("3.00"),
        ),
        (
            6,
            "LLM output tokens · model=gpt-4o* · 10.00 per 1,000,000 tokens",
            Decimal("10"),
            Decimal("1E+6"),
            Decimal("4.10"),
        ),
        (
            7,
            "LLM output tokens · model=claude-sonnet-4-5* · 15.00 per 1,000,000 tokens",
            Decimal("15"),
            Decimal("1E+6"),
            Decimal("3.00"),
        ),
    ]
