"""fct_revenue_schedule over three months with a prepaid grant that expires part-unused (issue 17).

cus_rev (UTC, tax 0) on Pro (99.00) from 2026-09-01, 100 images a month (5.00): 104.00 a month.
A paid grant of 300.00, granted 2026-09-01, expires 2026-11-30 (before November ends, so it is
not usable for November).

| month | opening | billed                  | recognized              | closing |
|-------|---------|-------------------------|-------------------------|---------|
| 09    |   0.00  | 0.00 + 300.00 = 300.00  | 104.00                  | 196.00  |
| 10    | 196.00  | 0.00                    | 104.00                  |  92.00  |
| 11    |  92.00  | 104.00                  | 104.00 + 92.00 = 196.00 |   0.00  |

Over the three months 404.00 billed = 404.00 recognized.
"""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from tests.support.rating import Scenario, build_from_scenario, event, query

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::Warning")]

R = "cus_rev"


def scenario() -> Scenario:
    return Scenario(
        customers=[
            {
                "customer_id": R,
                "name": "Rev",
                "currency": "USD",
                "timezone": "UTC",
                "tax_rate": "0",
                "segment": "startup",
                "parent_customer_id": "",
                "billing_email": "",
            }
        ],
        subscriptions=[
            {
                "subscription_id": "sub_rev",
                "customer_id": R,
                "plan_code": "pro",
                "start_date": "2026-09-01",
                "end_date": "",
            }
        ],
        credit_grants=[
            {
                "grant_id": "grant_rev",
                "customer_id": R,
                "amount": "300.00",
                "granted_at": "2026-09-01",
                "expires_at": "2026-11-30",
                "priority": "1",
                "kind": "paid",
            }
        ],
        events=[
            event(f"r{m}", R, "image.generation", f"2026-{m}-02T12:00:00Z", images=100)
            for m in ("09", "10", "11")
        ],
    )


def test_schedule_reconciles_over_three_months(tmp_path: Path) -> None:
    # the build runs assert_revenue_schedule_reconciles (it would raise on a failure)
    s = build_from_scenario(tmp_path, scenario())
    assert query(
        s,
        "select month, deferred_opening, invoiced, prepaid_billed, billed, service_revenue, "
        "breakage, recognized, deferred_closing from marts.fct_revenue_schedule order by month",
    ) == [
        (
            "2026-09",
            D("0.00"),
            D("0.00"),
            D("300.00"),
            D("300.00"),
            D("104.00"),
            D("0.00"),
            D("104.00"),
            D("196.00"),
        ),
        (
            "2026-10",
            D("196.00"),
            D("0.00"),
            D("0.00"),
            D("0.00"),
            D("104.00"),
            D("0.00"),
            D("104.00"),
            D("92.00"),
        ),
        (
            "2026-11",
            D("92.00"),
            D("104.00"),
            D("0.00"),
            D("104.00"),
            D("104.00"),
            D("92.00"),
            D("196.00"),
            D("0.00"),
        ),
    ]
    assert query(s, "select sum(billed), sum(recognized) from marts.fct_revenue_schedule") == [
        (D("404.00"), D("404.00"))
    ]
