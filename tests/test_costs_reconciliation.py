"""Reconciliation and direct COGS on a tiny Anthropic fixture: one matched day, one over-billed
day, one under-metered day (provider reports 2 % more tokens), and one day billed with nothing
metered. Catalog list prices of claude-haiku-4-5: input 1.00, output 5.00 USD per 1M tokens."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orchestration.config import Settings, settings
from tests.support.costs import (
    anthropic_cost_page,
    anthropic_usage_page,
    build_costs,
    dbt_build,
    query,
    write_events,
    write_json,
    write_reference,
)

MODEL = "claude-haiku-4-5-20251001"
DAYS = ("2026-10-01", "2026-10-02", "2026-10-03")
# per day: cus_a 60M input + 6M output, cus_b 40M + 4M -> expected 100.00 + 50.00 = 150.00
SPLIT = {"cus_a": (60_000_000, 6_000_000), "cus_b": (40_000_000, 4_000_000)}


def _cost(
    cents: str,
    token_type: str,
    model: str | None = MODEL,
    description: str = "Claude Haiku 4.5 Usage - Input Tokens",
) -> dict[str, object]:
    return {"amount": cents, "model": model, "description": description, "token_type": token_type}


@pytest.fixture(scope="module")
def recon(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data = tmp_path_factory.mktemp("recon") / "data"
    data.mkdir()
    write_reference(data, [("cus_a", "enterprise"), ("cus_b", "startup")])
    events = [
        {
            "subject": cus,
            "time": f"{day}T12:00:00Z",
            "provider": "anthropic",
            "model": MODEL,
            "input_tokens": tin,
            "cached_input_tokens": 0,
            "cache_write_tokens": 0,
            "output_tokens": tout,
            "status": "success",
            "feature": "chat",
        }
        for day in DAYS
        for cus, (tin, tout) in SPLIT.items()
    ]
    # a failed request: neither metered nor costed
    events.append(
        {
            "subject": "cus_a",
            "time": "2026-10-01T13:00:00Z",
            "provider": "anthropic",
            "model": MODEL,
            "input_tokens": 9_000_000,
            "output_tokens": 1,
            "status": "error",
        }
    )
    # a model neither the catalog nor provider_prices.csv knows: reported, never costed at 0
    events.append(
        {
            "subject": "cus_b",
            "time": "2026-10-01T14:00:00Z",
            "provider": "anthropic",
            "model": "claude-imaginary-9",
            "input_tokens": 1000,
            "output_tokens": 10,
            "status": "success",
        }
    )
    write_events(data, "usage_2026-10-31.jsonl", events)
    out = "Claude Haiku 4.5 Usage - Output Tokens"
    write_json(
        data,
        "raw/costs/anthropic/cost_report_2026-10-01_2026-10-04.json",
        anthropic_cost_page(
            {
                "2026-10-01": [
                    _cost("10000.00000", "uncached_input_tokens"),
                    _cost("5000.00000", "output_tokens", description=out),
                ],
                # over-billed: input billed 102.00 for the metered 100M tokens
                "2026-10-02": [
                    _cost("10200.00000", "uncached_input_tokens"),
                    _cost("5000.00000", "output_tokens", description=out),
                ],
                # under-metered: provider counted 2 % more tokens and billed them
                "2026-10-03": [
                    _cost("10200.00000", "uncached_input_tokens"),
                    _cost("5100.00000", "output_tokens", description=out),
                ],
                # billed, nothing metered; model only in the description
                "2026-10-04": [_cost("500.00000", "uncached_input_tokens", model=None)],
            }
        ),
    )
    write_json(
        data,
        "raw/costs/anthropic/usage_report_messages_2026-10-01_2026-10-04.json",
        anthropic_usage_page(
            {
                "2026-10-01": [
                    {
                        "model": MODEL,
                        "uncached_input_tokens": 100_000_000,
                        "output_tokens": 10_000_000,
                    }
                ],
                "2026-10-02": [
                    {
                        "model": MODEL,
                        "uncached_input_tokens": 100_000_000,
                        "output_tokens": 10_000_000,
                    }
                ],
                "2026-10-03": [
                    {
                        "model": MODEL,
                        "uncached_input_tokens": 102_000_000,
                        "output_tokens": 10_200_000,
                    }
                ],
                "2026-10-04": [{"model": MODEL, "uncached_input_tokens": 500_000}],
            }
        ),
    )
    s = settings(data)
    build_costs(
        s,
        "fct_cost_reconciliation",
        "fct_cogs_daily",
        "fct_provider_costs",
        "fct_provider_price_gaps",
    )
    return s


def test_statuses_one_per_kind(recon: Settings) -> None:
    rows = query(
        recon,
        """
        select usage_date::varchar, model, metered_tokens, reported_tokens, token_difference,
               expected_cost, billed_cost, cost_difference, cost_difference_pct, status
        from marts.fct_cost_reconciliation order by usage_date, model""",
    )
    D = Decimal
    assert rows == [
        (
            "2026-10-01",
            "claude-haiku-4-5",
            110_000_000,
            110_000_000,
            0,
            D("150"),
            D("150"),
            D("0"),
            D("0.00"),
            "matched",
        ),
        (
            "2026-10-01",
            "claude-imaginary-9",
            1010,
            None,
            None,
            D("0"),
            D("0"),
            D("0"),
            None,
            "unpriced",
        ),
        (
            "2026-10-02",
            "claude-haiku-4-5",
            110_000_000,
            110_000_000,
            0,
            D("150"),
            D("152"),
            D("2"),
            D("1.33"),
            "over_billed",
        ),
        (
            "2026-10-03",
            "claude-haiku-4-5",
            110_000_000,
            112_200_000,
            2_200_000,
            D("150"),
            D("153"),
            D("3"),
            D("2.00"),
            "under_metered",
        ),
        (
            "2026-10-04",
            "claude-haiku-4-5",
            0,
            500_000,
            500_000,
            D("0"),
            D("5"),
            D("5"),
            None,
            "under_metered",
        ),
    ]


def test_direct_cogs_scaled_to_billed_and_unattributed_kept(recon: Settings) -> None:
    rows = query(
        recon,
        """
        select cost_date::varchar, customer_id, model, cogs_direct, cogs_allocated
        from marts.fct_cogs_daily order by cost_date, customer_id""",
    )
    D = Decimal
    assert rows == [
        ("2026-10-01", "cus_a", "claude-haiku-4-5", D("90.00"), D("0.00")),
        ("2026-10-01", "cus_b", "claude-haiku-4-5", D("60.00"), D("0.00")),
        ("2026-10-02", "cus_a", "claude-haiku-4-5", D("91.20"), D("0.00")),
        ("2026-10-02", "cus_b", "claude-haiku-4-5", D("60.80"), D("0.00")),
        ("2026-10-03", "cus_a", "claude-haiku-4-5", D("91.80"), D("0.00")),
        ("2026-10-03", "cus_b", "claude-haiku-4-5", D("61.20"), D("0.00")),
        ("2026-10-04", "unattributed", "claude-haiku-4-5", D("5.00"), D("0.00")),
    ]


def test_invariant_attributed_plus_unattributed_equals_billed(recon: Settings) -> None:
    rows = query(
        recon,
        """
        with billed as (
            select x_provider as provider, x_charge_date as day, round(sum(BilledCost), 2) as b
            from marts.fct_provider_costs group by all),
        cogs as (
            select provider, cost_date as day, sum(cogs_total) as c
            from marts.fct_cogs_daily group by all)
        select billed.provider, billed.day, billed.b, cogs.c
        from billed full outer join cogs using (provider, day)""",
    )
    assert len(rows) == 4
    assert all(b == c for _, _, b, c in rows)


def test_unknown_model_reported_not_costed(recon: Settings) -> None:
    gaps = query(
        recon,
        """
        select provider, model, price_component, usage_date::varchar, unpriced_quantity,
               catalog_status
        from marts.fct_provider_price_gaps order by price_component""",
    )
    assert gaps == [
        (
            "anthropic",
            "claude-imaginary-9",
            "input",
            "2026-10-01",
            Decimal("1000"),
            "unknown_to_catalog",
        ),
        (
            "anthropic",
            "claude-imaginary-9",
            "output",
            "2026-10-01",
            Decimal("10"),
            "unknown_to_catalog",
        ),
    ]
    unknown = query(recon, "select provider, model from raw.catalog_unknown_models")
    assert unknown == [("anthropic", "claude-imaginary-9")]


def test_tolerance_is_configurable(recon: Settings) -> None:
    dbt_build(
        recon,
        "--select",
        "fct_cost_reconciliation",
        "--vars",
        "{reconciliation_tolerance_abs: 5.00}",
    )
    rows = query(
        recon,
        """select usage_date::varchar, status
                           from marts.fct_cost_reconciliation
                           where model = 'claude-haiku-4-5' order by usage_date""",
    )
    # differences of 2.00, 3.00 and 5.00 do not exceed 5.00: every day matches
    assert [r[1] for r in rows] == ["matched"] * 4
    dbt_build(recon, "--select", "fct_cost_reconciliation")
