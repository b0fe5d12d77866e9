"""Plan versions through the real loader and dbt build: a subscription pinned to an old plan
version (grandfathering, subscriptions.csv `plan_version`) stays on it when a new version takes
effect, and a pin to a version no plans/*.yml defines is refused naming the file, row and
problem. The same build checks PRICING.md's volume formula at quantity 0 end to end: quantity ×
unit_price + flat_fee of the tier containing the quantity, so a first tier
{up_to: 100, unit_price: 2, flat_fee: 10} bills 10.00 at 0 units, with or without events."""

from __future__ import annotations

import copy
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from orchestration.config import Settings, settings
from orchestration.ingest.results import ReferenceDataError
from tests.support.rating import (
    SUBSCRIPTION_COLS,
    Scenario,
    _customer,
    _write_csv,
    dbt_build,
    event,
    load,
    query,
    write_data_dir,
)

VOLUME_REQUESTS = {
    "meter": "api_requests",
    "model": "volume",
    "prices": [
        {
            "tiers": [
                {"up_to": 100, "unit_price": "2", "flat_fee": "10"},
                {"unit_price": "1"},
            ]
        }
    ],
}


def _plan(version: int, effective_from: str, fee: str, image_price: str) -> dict[str, Any]:
    return {
        "code": "team",
        "version": version,
        "name": "Team",
        "currency": "USD",
        "effective_from": effective_from,
        "fee": fee,
        "charges": [
            {"meter": "images", "model": "per_unit", "prices": [{"unit_price": image_price}]},
            copy.deepcopy(VOLUME_REQUESTS),
        ],
    }


PINNED, CURRENT = "cus_pinned", "cus_current"


def scenario() -> Scenario:
    return Scenario(
        customers=[_customer(PINNED, "UTC", "0"), _customer(CURRENT, "UTC", "0")],
        subscriptions=[
            {
                "subscription_id": "sub_pinned",
                "customer_id": PINNED,
                "plan_code": "team",
                "start_date": "2026-09-01",
                "end_date": "",
                "plan_version": "1",
            },
            {
                "subscription_id": "sub_current",
                "customer_id": CURRENT,
                "plan_code": "team",
                "start_date": "2026-09-01",
                "end_date": "",
                "plan_version": "",
            },
        ],
        plans=[
            _plan(1, "2026-01-01", "99.00", "0.05"),
            _plan(2, "2026-10-01", "199.00", "0.10"),
        ],
        events=[
            event("p1", PINNED, "image.generation", "2026-10-10T10:00:00Z", images=100),
            # a request event with 0 requests: a volume line of quantity 0
            event("p2", PINNED, "embedding", "2026-10-11T10:00:00Z", requests=0),
            event("c1", CURRENT, "image.generation", "2026-10-10T10:00:00Z", images=100),
            event("c2", CURRENT, "embedding", "2026-09-20T10:00:00Z", requests=150),
        ],
    )


def write(data: Path, sc: Scenario) -> Settings:
    data.mkdir(parents=True, exist_ok=True)
    write_data_dir(data, sc)
    # subscriptions.csv with the optional plan_version column
    _write_csv(
        data / "reference" / "subscriptions.csv",
        (*SUBSCRIPTION_COLS, "plan_version"),
        sc.subscriptions,
    )
    return settings(data)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    s = write(tmp_path_factory.mktemp("versions") / "data", scenario())
    load(s)
    dbt_build(s, unit_tests=False)
    return s


def lines(s: Settings, invoice_id: str) -> list[tuple[Any, ...]]:
    return query(
        s,
        f"""
        select line_key, quantity, amount, description from marts.fct_invoice_lines
        where invoice_id = '{invoice_id}' and line_type in ('subscription', 'usage')
        order by line_no""",
    )


def test_pinned_subscription_stays_on_its_version(built: Settings) -> None:
    # v2 (199.00, images 0.10) takes effect 2026-10-01; cus_pinned pins v1 (99.00, images 0.05)
    assert query(
        built,
        """
        select subscription_id, period, plan_version, is_version_pinned, fee_amount
        from intermediate.int_billing_subscription_periods order by 1, 2""",
    ) == [
        ("sub_current", "2026-09", 1, False, D("99.00")),
        ("sub_current", "2026-10", 2, False, D("199.00")),
        ("sub_pinned", "2026-09", 1, True, D("99.00")),
        ("sub_pinned", "2026-10", 1, True, D("99.00")),
    ]
    pinned = lines(built, f"{PINNED}:2026-10")
    current = lines(built, f"{CURRENT}:2026-10")
    assert [(k, q, a) for k, q, a, _ in pinned] == [
        ("subscription:sub_pinned:team:v1", D("31"), D("99.00")),
        ("usage:sub_pinned:api_requests:1:0", D("0"), D("10.00")),  # 0 x 2 + 10
        ("usage:sub_pinned:images:0:0", D("100"), D("5.00")),  # 100 x 0.05
    ]
    assert [(k, q, a) for k, q, a, _ in current] == [
        ("subscription:sub_current:team:v2", D("31"), D("199.00")),
        ("usage:sub_current:api_requests:1:0", D("0"), D("10.00")),  # no events: 0 x 2 + 10
        ("usage:sub_current:images:0:0", D("100"), D("10.00")),  # 100 x 0.10
    ]
    [(subtotal_pinned,)] = query(
        built, f"select subtotal from marts.fct_invoices where invoice_id = '{PINNED}:2026-10'"
    )
    assert subtotal_pinned == D("114.00")


def test_volume_tier_above_the_first_has_no_first_tier_fee(built: Settings) -> None:
    # September, cus_current: 150 requests fall in the second tier: 150 x 1 + 0 = 150.00
    assert [(k, q, a) for k, q, a, _ in lines(built, f"{CURRENT}:2026-09")] == [
        ("subscription:sub_current:team:v1", D("30"), D("99.00")),
        ("usage:sub_current:api_requests:1:0", D("150"), D("150.00")),
    ]


def test_pin_to_an_unknown_version_is_refused(tmp_path: Path) -> None:
    sc = scenario()
    sc.subscriptions[0]["plan_version"] = "3"
    sc.subscriptions[1]["plan_version"] = "one"
    s = write(tmp_path / "data", sc)
    with pytest.raises(ReferenceDataError) as err:
        load(s)
    msg = str(err.value)
    assert "subscriptions.csv: row 1: column 'plan_version': plan 'team' has no version 3" in msg
    assert "(plans/*.yml has 1, 2)" in msg
    assert "subscriptions.csv: row 2: column 'plan_version': 'one' is not a non-negative" in msg
