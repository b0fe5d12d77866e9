"""The lifecycle scenario of issue 17 (hand-computed in tests/test_lifecycle_ledger.py):
cus_northwind (UTC, tax 20%) on Pro from 2026-09-01 with a paid grant of 500.00; 2,000 images in
September (92.00), 6,000 in October (242.00). ``with_acme`` adds cus_acme (UTC, tax 0, Pro from
2026-09-01, 100 images a month: 99.00 + 5.00 = 104.00 each month)."""

from __future__ import annotations

from tests.support.rating import Scenario, event

C = "cus_northwind"
PAID = "grant_nw_paid"
ACME = "cus_acme"


def scenario(with_acme: bool = False) -> Scenario:
    sc = Scenario(
        customers=[
            {
                "customer_id": C,
                "name": "Northwind",
                "currency": "USD",
                "timezone": "UTC",
                "tax_rate": "0.2",
                "segment": "enterprise",
                "parent_customer_id": "",
                "billing_email": "billing@northwind.example",
            }
        ],
        subscriptions=[
            {
                "subscription_id": "sub_nw_1",
                "customer_id": C,
                "plan_code": "pro",
                "start_date": "2026-09-01",
                "end_date": "",
            }
        ],
        credit_grants=[
            {
                "grant_id": PAID,
                "customer_id": C,
                "amount": "500.00",
                "granted_at": "2026-09-01",
                "expires_at": "",
                "priority": "1",
                "kind": "paid",
            }
        ],
        events=[
            event("s1", C, "image.generation", "2026-09-10T12:00:00Z", images=2000),
            event("o1", C, "image.generation", "2026-10-10T12:00:00Z", images=6000),
        ],
    )
    if with_acme:
        sc.customers.append(
            {
                "customer_id": ACME,
                "name": "Acme",
                "currency": "USD",
                "timezone": "UTC",
                "tax_rate": "0",
                "segment": "startup",
                "parent_customer_id": "",
                "billing_email": "ap@acme.example",
            }
        )
        sc.subscriptions.append(
            {
                "subscription_id": "sub_acme_1",
                "customer_id": ACME,
                "plan_code": "pro",
                "start_date": "2026-09-01",
                "end_date": "",
            }
        )
        sc.events += [
            event("as1", ACME, "image.generation", "2026-09-05T12:00:00Z", images=100),
            event("ao1", ACME, "image.generation", "2026-10-05T12:00:00Z", images=100),
        ]
    return sc
