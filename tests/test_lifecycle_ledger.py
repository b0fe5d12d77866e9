"""One ledger of issued money (issue 17): later periods start from what was issued.

The Northwind late-September case, hand-computed. cus_northwind (UTC, tax 20%) on Pro (fee
99.00) from 2026-09-01, no contract, one paid grant of 500.00 (granted 2026-09-01, no expiry).
Images are graduated: up to 1,000 at 0.05, then 0.04 with a flat fee of 2.00, above 5,000 0.03.

- September: 2,000 images -> 50.00 + 40.00 + 2.00 = 92.00; subtotal 99.00 + 92.00 = 191.00, all
  paid by the grant (credit 191.00, tax 0.00, total 0.00); the grant keeps 309.00.
- October: 6,000 images -> 242.00; subtotal 341.00; credit 309.00 (the rest of the grant);
  taxable 32.00, tax 6.40, total 38.40; the grant keeps 0.00.
- 100 late September images after both are issued: September now rates 2,100 images -> 50.00 +
  (1,100 x 0.04 + 2.00) = 96.00, +4.00. November (the next open invoice) carries an adjustment
  of 4.00 for September's image line; the grant is spent, so November pays it: subtotal 99.00 +
  4.00 = 103.00, credit 0.00, tax 20.60, total 123.60. The issued October still burned 309.00
  (before the fix, recomputing September's burn from today's usage left October a burn of
  305.00 against the 309.00 it applied: the grant over-spent by 4.00 and no test noticed).
"""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import pytest

from orchestration.config import Settings
from orchestration.dbt_runner import DbtError
from tests.support.lifecycle import PAID, C, scenario
from tests.support.rating import (
    build_from_scenario,
    dbt_build,
    event,
    issue_period,
    load,
    query,
    write_data_dir,
)

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::Warning")]


def write_late_september(s: Settings, name: str = "usage_late_2026-11-05.jsonl") -> None:
    path = s.data_dir / "raw" / "usage" / name
    path.write_text(
        json.dumps(event("s_late", C, "image.generation", "2026-09-20T12:00:00Z", images=100))
        + "\n"
    )


def invoices(s: Settings) -> list[tuple[object, ...]]:
    return query(
        s,
        "select period, status, subtotal, credit_total, tax_total, total "
        "from marts.fct_invoices order by period",
    )


def burns(s: Settings) -> list[tuple[object, ...]]:
    return query(
        s,
        "select period, grant_id, amount, grant_balance_after from marts.fct_credit_ledger "
        "where entry_type = 'burn' order by period, grant_id",
    )


@pytest.fixture(scope="module")
def issued_in_order(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """September issued, rebuilt, October issued, rebuilt (what `close --through` leads to)."""
    s = build_from_scenario(tmp_path_factory.mktemp("ledger"), scenario())
    issue_period(s, "2026-09", issued_at="2026-10-03 00:00:00")
    dbt_build(s, unit_tests=False, data_tests=False)
    issue_period(s, "2026-10", issued_at="2026-11-03 00:00:00")
    dbt_build(s, unit_tests=False)
    return s


def test_issued_figures(issued_in_order: Settings) -> None:
    s = issued_in_order
    assert invoices(s) == [
        ("2026-09", "issued", D("191.00"), D("191.00"), D("0.00"), D("0.00")),
        ("2026-10", "issued", D("341.00"), D("309.00"), D("6.40"), D("38.40")),
        # the month after the last issued one is open, for late usage: the fee alone
        ("2026-11", "draft", D("99.00"), D("0.00"), D("19.80"), D("118.80")),
    ]
    assert query(
        s, "select invoice_number, grant_id, burned from ledger.issued_credit_burns order by 1"
    ) == [
        ("INV-202609-00001", PAID, D("191.00")),
        ("INV-202610-00001", PAID, D("309.00")),
    ]
    # one hash per issued invoice, recorded at issue
    assert query(s, "select count(distinct content_hash) from ledger.issued_invoice_hashes") == [
        (2,)
    ]


def test_late_september_usage_never_overspends_the_grant(issued_in_order: Settings) -> None:
    s = issued_in_order
    write_late_september(s)
    load(s)
    # the invariant tests run here and pass
    dbt_build(s, "+marts.billing", "stg_ledger__issued_invoice_hashes", unit_tests=False)
    assert invoices(s) == [
        ("2026-09", "issued", D("191.00"), D("191.00"), D("0.00"), D("0.00")),
        ("2026-10", "issued", D("341.00"), D("309.00"), D("6.40"), D("38.40")),
        ("2026-11", "draft", D("103.00"), D("0.00"), D("20.60"), D("123.60")),
    ]
    # the burns are the ones issued: 191.00 + 309.00 = the whole grant, never more
    assert burns(s) == [
        ("2026-09", PAID, D("-191.00"), D("309.00")),
        ("2026-10", PAID, D("-309.00"), D("0.00")),
    ]
    assert query(
        s,
        "select line_type, description, quantity, amount from marts.fct_invoice_lines "
        "where period = '2026-11' and line_type = 'adjustment'",
    ) == [
        (
            "adjustment",
            "Late usage for 2026-09: Images · graduated: 1,000 × 0.05 + 1,100 × 0.04 + 2.00",
            D("100"),
            D("4.00"),
        )
    ]


def test_the_same_late_file_loaded_twice_adds_nothing(issued_in_order: Settings) -> None:
    s = issued_in_order
    write_late_september(s, "usage_late_again_2026-11-06.jsonl")  # same events, new file
    load(s)
    dbt_build(s, unit_tests=False, data_tests=False)
    assert query(
        s,
        "select sum(amount) from marts.fct_invoice_lines "
        "where period = '2026-11' and line_type = 'adjustment'",
    ) == [(D("4.00"),)]


def test_a_backdated_grant_does_not_move_issued_burns(tmp_path: Path) -> None:
    """A promotional grant added after September was issued, granted 2026-09-01 at priority 0:
    recomputing September would burn it first (50.00 promo + 141.00 paid). September's burns
    stay as issued (191.00 paid); the new grant is first used by October's draft: 50.00 promo,
    then 291.00 of the paid grant's 309.00."""
    sc = scenario()
    s = build_from_scenario(tmp_path, sc)
    issue_period(s, "2026-09", issued_at="2026-10-03 00:00:00")
    sc.credit_grants.append(
        {
            "grant_id": "grant_nw_promo",
            "customer_id": C,
            "amount": "50.00",
            "granted_at": "2026-09-01",
            "expires_at": "",
            "priority": "0",
            "kind": "promotional",
        }
    )
    write_data_dir(s.data_dir, sc)
    load(s)
    dbt_build(s, unit_tests=False)
    assert burns(s) == [
        ("2026-09", PAID, D("-191.00"), D("309.00")),
        ("2026-10", PAID, D("-291.00"), D("18.00")),
        ("2026-10", "grant_nw_promo", D("-50.00"), D("0.00")),
    ]


def test_a_grant_lowered_below_its_issued_burns_fails_the_build(tmp_path: Path) -> None:
    sc = scenario()
    s = build_from_scenario(tmp_path, sc)
    issue_period(s, "2026-09", issued_at="2026-10-03 00:00:00")
    sc.credit_grants[0]["amount"] = "150.00"  # September burned 191.00 of it
    write_data_dir(s.data_dir, sc)
    load(s)
    with pytest.raises(DbtError) as err:
        dbt_build(s, unit_tests=False)
    assert "assert_grant_balances_not_negative_when_issued" in str(err.value)


def test_a_changed_issued_line_fails_the_build(tmp_path: Path) -> None:
    s = build_from_scenario(tmp_path, scenario())
    issue_period(s, "2026-09", issued_at="2026-10-03 00:00:00")
    from orchestration.warehouse import connect

    with connect(s.warehouse) as con:
        con.execute(
            "update ledger.issued_invoice_lines set description = 'edited' "
            "where invoice_number = 'INV-202609-00001' and line_no = 1"
        )
    with pytest.raises(DbtError) as err:
        dbt_build(s, "+marts.billing", "stg_ledger__issued_invoice_hashes", unit_tests=False)
    assert "assert_issued_invoices_unchanged" in str(err.value)
