"""Margin of PRICING.md's worked customer (cus_northwind, October 2026: subtotal 1000.00,
promotional credit 100.00, so revenue 900.00) given known provider costs:
- OpenAI billed gpt-4o exactly at list price on Oct 3 and Oct 17 (6.30 each day);
- Anthropic billed claude-sonnet-4-5 6.00 on Oct 21 (description only, no model field);
- a FOCUS GPU row of 300.00 tagged customer_id=cus_northwind.
COGS 318.60 (direct 18.60 + allocated 300.00), margin 581.40, 64.60 %, markup 182.49 %."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from orchestration.config import Settings, settings
from tests.support.costs import (
    anthropic_cost_page,
    build_costs,
    dbt_build,
    focus_row,
    query,
    write_focus_csv,
    write_json,
)
from tests.support.rating import Scenario, northwind, write_data_dir

ALLOCATION_YML = "tag_key: customer_id\nrules:\n  - match: {}\n    driver: requests\n"


def _openai_cost_page(days: dict[str, list[tuple[str, str]]]) -> dict[str, object]:
    data = []
    for day, items in sorted(days.items()):
        start = int(dt.datetime.fromisoformat(f"{day}T00:00:00+00:00").timestamp())
        data.append(
            {
                "object": "bucket",
                "start_time": start,
                "end_time": start + 86400,
                "results": [
                    {
                        "object": "organization.costs.result",
                        "amount": {"value": float(value), "currency": "usd"},
                        "line_item": item,
                        "project_id": None,
                        "api_key_id": None,
                    }
                    for item, value in items
                ],
            }
        )
    return {"object": "page", "data": data, "has_more": False, "next_page": None}


def northwind_with_providers() -> Scenario:
    """The PRICING.md worked customer, each model event sent to its provider (costs known)."""
    scenario = northwind()
    for e in scenario.events:
        model = e["data"].get("model", "")
        if model:
            e["data"]["provider"] = "anthropic" if model.startswith("claude") else "openai"
    return scenario


def write_northwind_costs(data: Path) -> None:
    """The known provider costs of the worked customer.

    gpt-4o 6.30 on each of two days, claude-sonnet 600.00 on 2026-10-21, a 300.00 GPU instance
    tagged to cus_northwind; shared costs allocated by driver.
    """
    (data / "reference" / "cost_allocation.yml").write_text(ALLOCATION_YML, encoding="utf-8")
    gpt = [("gpt-4o-2024-08-06, input", "4.25"), ("gpt-4o-2024-08-06, output", "2.05")]
    write_json(
        data,
        "raw/costs/openai/costs_2026-10-01_2026-10-31.json",
        _openai_cost_page({"2026-10-03": gpt, "2026-10-17": gpt}),
    )
    write_json(
        data,
        "raw/costs/anthropic/cost_report_2026-10-01_2026-10-31.json",
        anthropic_cost_page(
            {
                "2026-10-21": [
                    {
                        "amount": "300.00000",
                        "model": None,
                        "token_type": "uncached_input_tokens",
                        "description": "Claude Sonnet 4.5 Usage - Input Tokens",
                    },
                    {
                        "amount": "300.00000",
                        "model": None,
                        "token_type": "output_tokens",
                        "description": "Claude Sonnet 4.5 Usage - Output Tokens",
                    },
                ]
            }
        ),
    )
    write_focus_csv(
        data,
        "cloudgpu_2026-10.csv",
        [
            focus_row(
                "2026-10-05", "300.00", "Compute", "GPU Instances", {"customer_id": "cus_northwind"}
            )
        ],
    )


@pytest.fixture(scope="module")
def margin(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data = tmp_path_factory.mktemp("margin") / "data"
    data.mkdir()
    scenario = northwind_with_providers()
    write_data_dir(data, scenario)
    write_northwind_costs(data)
    s = settings(data)
    build_costs(s, "fct_customer_margin", "fct_customer_cogs_breakdown", "fct_cost_reconciliation")
    return s


def test_worked_customer_margin(margin: Settings) -> None:
    rows = query(
        margin,
        """
        select customer_id, period, segment, invoice_subtotal, promotional_credit_total, revenue,
               cogs_direct, cogs_allocated, cogs_total, gross_margin, margin_pct, markup_pct,
               margin_target_pct, margin_flag
        from marts.fct_customer_margin order by period""",
    )
    D = Decimal
    assert rows == [
        (
            "cus_northwind",
            "2026-10",
            "enterprise",
            D("1000.00"),
            D("100.00"),
            D("900.00"),
            D("18.60"),
            D("300.00"),
            D("318.60"),
            D("581.40"),
            D("64.60"),
            D("182.49"),
            D("30.00"),
            "ok",
        ),
    ]


def test_costs_reconcile_at_list_price(margin: Settings) -> None:
    rows = query(
        margin,
        """select provider, model, usage_date::varchar, expected_cost,
                                   billed_cost, status
                            from marts.fct_cost_reconciliation order by usage_date""",
    )
    D = Decimal
    assert rows == [
        ("openai", "gpt-4o", "2026-10-03", D("6.3"), D("6.3"), "matched"),
        ("openai", "gpt-4o", "2026-10-17", D("6.3"), D("6.3"), "matched"),
        ("anthropic", "claude-sonnet-4-5", "2026-10-21", D("6"), D("6"), "matched"),
    ]


def test_breakdown_per_model_and_feature(margin: Settings) -> None:
    rows = query(
        margin,
        """
        select provider, model, feature, cogs_total, share_of_customer_cogs_pct
        from marts.fct_customer_cogs_breakdown order by cogs_total desc, model""",
    )
    D = Decimal
    assert rows == [
        ("cloudgpu", "GPU Instances", "(shared)", D("300.00"), D("94.16")),
        ("openai", "gpt-4o", "(none)", D("12.60"), D("3.95")),
        ("anthropic", "claude-sonnet-4-5", "(none)", D("6.00"), D("1.88")),
    ]


def test_below_target_flag_follows_segment_var(margin: Settings) -> None:
    dbt_build(
        margin,
        "--select",
        "fct_customer_margin",
        "--vars",
        "{margin_targets: {enterprise: 0.70, default: 0.40}}",
    )
    flag = query(margin, "select margin_target_pct, margin_flag from marts.fct_customer_margin")
    assert flag == [(Decimal("70.00"), "below_target")]
    dbt_build(margin, "--select", "fct_customer_margin")
