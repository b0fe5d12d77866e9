"""Issued invoices never change; late usage for a closed period becomes adjustment lines on the
customer's next open invoice; re-running the build on the same inputs gives identical marts."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

from tests.support.rating import (
    build_from_scenario,
    dbt_build,
    event,
    issue_period,
    load,
    marts_checksums,
    northwind,
    query,
)

ADJ_KEY = "adjustment:2026-10:usage:sub_nw_1:llm_input_tokens:0:1"
ADJ_DISCOUNT_KEY = "adjustment:2026-10:discount:ctr_nw"
ADJ_COMMIT_KEY = "adjustment:2026-10:minimum_commitment:ctr_nw"


def test_rebuild_is_identical_then_late_usage_becomes_an_adjustment(tmp_path: Path) -> None:
    sc = northwind()
    sc.events.append(event("n1", "cus_northwind", "embedding", "2026-11-02T10:00:00Z", requests=10))
    s = build_from_scenario(tmp_path, sc)

    # determinism: same inputs, a second build -> byte-identical marts
    first = marts_checksums(s)
    dbt_build(s, unit_tests=False, data_tests=False)
    assert marts_checksums(s) == first

    # close October; its invoice and lines are frozen in the ledger
    issue_period(s, "2026-10")
    dbt_build(s, unit_tests=False, data_tests=False)
    issued_lines = query(
        s,
        """
        select line_no, line_type, line_key, quantity, amount from marts.fct_invoice_lines
        where invoice_id = 'cus_northwind:2026-10' order by line_no""",
    )
    assert query(
        s,
        "select status, invoice_number, total from marts.fct_invoices "
        "where invoice_id = 'cus_northwind:2026-10'",
    ) == [("issued", "INV-202610-00001", D("1080.00"))]

    # a late file: 400,000 more gpt-4o input tokens on Oct 30
    late = s.data_dir / "raw" / "usage" / "usage_2026-11-04.jsonl"
    late.write_text(
        json.dumps(
            event(
                "late1",
                "cus_northwind",
                "llm.completion",
                "2026-10-30T10:00:00Z",
                model="gpt-4o",
                input_tokens=400_000,
                output_tokens=0,
            )
        )
        + "\n"
    )
    load(s)
    dbt_build(s, unit_tests=False)

    # the issued invoice is unchanged ...
    assert (
        query(
            s,
            """
        select line_no, line_type, line_key, quantity, amount from marts.fct_invoice_lines
        where invoice_id = 'cus_northwind:2026-10' order by line_no""",
        )
        == issued_lines
    )
    assert query(
        s,
        "select status, invoice_number, subtotal, credit_total, total "
        "from marts.fct_invoices where invoice_id = 'cus_northwind:2026-10'",
    ) == [("issued", "INV-202610-00001", D("1000.00"), D("100.00"), D("1080.00"))]
    # ... and November carries the difference per charge: 2.8M - 1M free at 2.50/M = 7.00 vs
    # 6.00 issued, October's 10% contract discount on it: -round(10% x 260.60) - (-25.96) = -0.10,
    # and October's minimum commitment, which absorbs it: 1000.00 - (99.00 + 260.60 - 26.06)
    # = 666.46 vs 667.36 issued = -0.90. Net 0.00: October re-rated is still 1000.00.
    assert query(
        s,
        """
        select line_type, line_key, quantity, amount from marts.fct_invoice_lines
        where invoice_id = 'cus_northwind:2026-11' order by line_no""",
    ) == [
        ("subscription", "subscription:sub_nw_1:pro:v1", D("30"), D("99.00")),
        ("usage", "usage:sub_nw_1:api_requests:3:0", D("10"), D("0.50")),
        ("adjustment", ADJ_DISCOUNT_KEY, None, D("-0.10")),
        ("adjustment", ADJ_COMMIT_KEY, None, D("-0.90")),
        ("adjustment", ADJ_KEY, D("400000"), D("1.00")),
        ("discount", "discount:ctr_nw", None, D("-0.05")),
        ("minimum_commitment", "minimum_commitment:ctr_nw", None, D("900.55")),
        ("tax", "tax", D("1000.00"), D("200.00")),
    ]
    assert query(
        s,
        """
        select adjustment_total, subtotal, credit_total, tax_total, total, status
        from marts.fct_invoices where invoice_id = 'cus_northwind:2026-11'""",
    ) == [(D("0.00"), D("1000.00"), D("0.00"), D("200.00"), D("1200.00"), "draft")]
    # credits burned on the issued invoice stay burned as issued
    assert query(
        s, "select ledger_entry_id, amount from marts.fct_credit_ledger where entry_type = 'burn'"
    ) == [("burn:grant_nw_promo:2026-10", D("-100.00"))]

    # once November is issued with the adjustment, it is not adjusted a second time
    issue_period(s, "2026-11", issued_at="2026-12-03 00:00:00")
    sc2 = s.data_dir / "raw" / "usage" / "usage_2026-12-05.jsonl"
    sc2.write_text(
        json.dumps(event("d1", "cus_northwind", "embedding", "2026-12-01T10:00:00Z", requests=1))
        + "\n"
    )
    load(s)
    dbt_build(s, unit_tests=False)
    assert query(
        s,
        "select count(*) from marts.fct_invoice_lines "
        "where invoice_id = 'cus_northwind:2026-12' and line_type = 'adjustment'",
    ) == [(0,)]


def test_adjustment_after_the_last_issued_month_opens_the_next_invoice(tmp_path: Path) -> None:
    """October is issued and the data's last event is in October: late October usage still lands
    on an invoice, a draft November carrying the adjustment lines and November's fee. +10.00 of
    late usage under the contract's 10% usage discount (-1.00) is absorbed by October's minimum
    commitment shortfall (-9.00): the corrected October is still 1000.00, so the adjustment
    lines net 0.00 (issue 17; before, November billed +9.00 on top of the shortfall)."""
    s = build_from_scenario(tmp_path, northwind())
    # the spine runs through the month of the last event: no November yet
    assert query(s, "select invoice_id from marts.fct_invoices order by 1") == [
        ("cus_northwind:2026-10",)
    ]
    issue_period(s, "2026-10")

    # 4,000,000 more gpt-4o input tokens on Oct 30 -> 6.4M billable at 2.50/M = 16.00 vs 6.00
    late = s.data_dir / "raw" / "usage" / "usage_2026-11-04.jsonl"
    late.write_text(
        json.dumps(
            event(
                "late1",
                "cus_northwind",
                "llm.completion",
                "2026-10-30T10:00:00Z",
                model="gpt-4o",
                input_tokens=4_000_000,
                output_tokens=0,
            )
        )
        + "\n"
    )
    load(s)
    dbt_build(s, unit_tests=False)

    assert query(s, "select invoice_id, status, total from marts.fct_invoices order by 1") == [
        ("cus_northwind:2026-10", "issued", D("1080.00")),
        ("cus_northwind:2026-11", "draft", D("1200.00")),
    ]
    assert query(
        s,
        """
        select line_type, line_key, description, quantity, amount from marts.fct_invoice_lines
        where invoice_id = 'cus_northwind:2026-11' order by line_no""",
    ) == [
        (
            "subscription",
            "subscription:sub_nw_1:pro:v1",
            "Pro v1 subscription (30/30 days of 99.00)",
            D("30"),
            D("99.00"),
        ),
        (
            "adjustment",
            ADJ_DISCOUNT_KEY,
            "Late usage for 2026-10: Discount 10.00% of usage now 269.60 "
            "(contract discount on the late usage)",
            None,
            D("-1.00"),
        ),
        (
            "adjustment",
            ADJ_COMMIT_KEY,
            "Late usage for 2026-10: Minimum commitment 1000.00 - 341.64 now "
            "(the commitment shortfall absorbs the late usage)",
            None,
            D("-9.00"),
        ),
        (
            "adjustment",
            ADJ_KEY,
            "Late usage for 2026-10: LLM input tokens · model=gpt-4o* · 2.50 per 1,000,000 tokens, "
            "first 1,000,000 free",
            D("4000000"),
            D("10.00"),
        ),
        (
            "minimum_commitment",
            "minimum_commitment:ctr_nw",
            "Minimum commitment 1000.00 - 99.00",
            None,
            D("901.00"),
        ),
        ("tax", "tax", "Tax 20.00% of 1000.00", D("1000.00"), D("200.00")),
    ]
    assert query(
        s,
        """
        select fees_total, usage_total, discount_total, adjustment_total, minimum_commitment_total,
               subtotal, credit_total, tax_total, total
        from marts.fct_invoices where invoice_id = 'cus_northwind:2026-11'""",
    ) == [
        (
            D("99.00"),
            D("0.00"),
            D("0.00"),
            D("0.00"),
            D("901.00"),
            D("1000.00"),
            D("0.00"),
            D("200.00"),
            D("1200.00"),
        )
    ]
    # every outstanding adjustment is on an invoice
    assert query(
        s,
        """
        select count(*) from intermediate.int_billing_adjustment_lines a
        left join marts.fct_invoices i on a.invoice_id = i.invoice_id
        where i.invoice_id is null""",
    ) == [(0,)]
