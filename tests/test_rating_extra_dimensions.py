"""Every event dimension usable: event `data` keys without a typed column (kept in
stg_usage__events.extra_data) work as a meter's `field`, `filter` key and `dimensions`, and in a
price's `when`, through the real loader (JSONL and CSV events) and the real dbt build. Meters on
typed fields stay on the typed path (no JSON extraction)."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from orchestration.config import Settings
from orchestration.warehouse import connect
from tests.support.rating import (
    Scenario,
    _customer,
    build_from_scenario,
    compile_analysis,
    event,
    query,
)

DOC_METERS: list[dict[str, Any]] = [
    # `data.pages` summed, priced by `data.region` (a dimension and a `when` key)
    {
        "code": "doc_pages",
        "name": "Parsed pages",
        "event_type": "document.parse",
        "aggregation": "sum",
        "field": "data.pages",
        "unit": "page",
        "dimensions": ["data.region"],
    },
    # counted only where the extra key equals the filter value
    {
        "code": "eu_completions",
        "name": "EU completions",
        "event_type": "llm.completion",
        "aggregation": "count",
        "filter": {"region": "eu-west-1"},
        "unit": "request",
    },
    # a typed meter on the same event type: stays on the typed path
    {
        "code": "llm_input_tokens",
        "name": "LLM input tokens",
        "event_type": "llm.completion",
        "aggregation": "sum",
        "field": "input_tokens",
        "unit": "token",
        "dimensions": ["model"],
    },
]

DOCS_V1: dict[str, Any] = {
    "code": "docs",
    "version": 1,
    "name": "Docs",
    "currency": "USD",
    "effective_from": "2026-01-01",
    "charges": [
        {
            "meter": "doc_pages",
            "model": "per_unit",
            "prices": [
                {"when": {"region": "eu-*"}, "unit_price": "0.02"},
                {"unit_price": "0.01"},
            ],
        },
        {"meter": "eu_completions", "model": "per_unit", "prices": [{"unit_price": "0.10"}]},
        {
            "meter": "llm_input_tokens",
            "model": "per_unit",
            "price_per": 1000000,
            "prices": [{"unit_price": "2.00"}],
        },
    ],
}

CSV_EVENTS = (
    "id,source,type,subject,time,region,pages\n"
    "c1,gw-csv,document.parse,cus_docs,2026-10-09T09:00:00Z,eu-central-1,7\n"
)


def docs_scenario() -> Scenario:
    c = "cus_docs"
    events = [
        event("d1", c, "document.parse", "2026-10-02T10:00:00Z", region="eu-west-1", pages=100),
        event("d2", c, "document.parse", "2026-10-03T10:00:00Z", region="us-east-1", pages=50),
        event("d3", c, "document.parse", "2026-10-04T10:00:00Z", region="eu-west-1", pages=3),
        event(
            "l1",
            c,
            "llm.completion",
            "2026-10-05T10:00:00Z",
            model="gpt-4o",
            input_tokens=1_000_000,
            region="eu-west-1",
        ),
        event(
            "l2",
            c,
            "llm.completion",
            "2026-10-06T10:00:00Z",
            model="gpt-4o",
            input_tokens=500_000,
            region="us-east-1",
        ),
        event(
            "l3",
            c,
            "llm.completion",
            "2026-10-07T10:00:00Z",
            model="gpt-4o",
            input_tokens=9,
            region="eu-west-1",
            status="error",
        ),  # failed: not counted
    ]
    return Scenario(
        customers=[_customer(c, "UTC", "0")],
        subscriptions=[
            {
                "subscription_id": "sub_docs",
                "customer_id": c,
                "plan_code": "docs",
                "start_date": "2026-10-01",
                "end_date": "",
            }
        ],
        plans=[DOCS_V1],
        meters=DOC_METERS,
        events=events,
        usage_file="raw/usage/usage_2026-10-31.jsonl",
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root: Path = tmp_path_factory.mktemp("extra_dims")
    csv_file = root / "data" / "raw" / "usage" / "usage_2026-10-30.csv"
    csv_file.parent.mkdir(parents=True)
    csv_file.write_text(CSV_EVENTS)
    return build_from_scenario(root, docs_scenario())  # with the billing data tests


def test_extra_keys_price_filter_and_sum(built: Settings) -> None:
    assert query(
        built,
        """
        select line_key, description, quantity, amount from marts.fct_invoice_lines
        where invoice_id = 'cus_docs:2026-10' order by line_no""",
    ) == [
        # 100 + 3 (JSONL) + 7 (CSV) EU pages at 0.02; 50 US pages at the default 0.01
        (
            "usage:sub_docs:doc_pages:0:0",
            "Parsed pages · region=eu-* · 0.02 per page",
            D("110"),
            D("2.20"),
        ),
        ("usage:sub_docs:doc_pages:0:1", "Parsed pages · 0.01 per page", D("50"), D("0.50")),
        (
            "usage:sub_docs:eu_completions:1:0",
            "EU completions · 0.10 per request",
            D("1"),
            D("0.10"),
        ),
        (
            "usage:sub_docs:llm_input_tokens:2:0",
            "LLM input tokens · 2.00 per 1,000,000 tokens",
            D("1500000"),
            D("3.00"),
        ),
        ("tax", "Tax 0.00% of 5.80", D("5.80"), D("0.00")),
    ]
    assert query(built, "select total, is_blocked from marts.fct_invoices") == [(D("5.80"), False)]


def test_usage_daily_keeps_the_extra_dimension(built: Settings) -> None:
    assert query(
        built,
        """
        select cast(usage_date as varchar), meter_code, dimensions, extra_dimensions, quantity
        from marts.fct_usage_daily where meter_code <> 'llm_input_tokens' order by all""",
    ) == [
        ("2026-10-02", "doc_pages", "region=eu-west-1", '{"region":"eu-west-1"}', D("100")),
        ("2026-10-03", "doc_pages", "region=us-east-1", '{"region":"us-east-1"}', D("50")),
        ("2026-10-04", "doc_pages", "region=eu-west-1", '{"region":"eu-west-1"}', D("3")),
        ("2026-10-05", "eu_completions", "", None, D("1")),
        ("2026-10-09", "doc_pages", "region=eu-central-1", '{"region":"eu-central-1"}', D("7")),
    ]
    # typed meters carry no extra dimensions
    assert query(
        built,
        """
        select count(*), count(extra_dimensions) from marts.fct_usage_daily
        where meter_code = 'llm_input_tokens'""",
    ) == [(2, 0)]


def test_only_meters_on_extra_keys_take_the_json_path(built: Settings) -> None:
    assert query(
        built,
        """
        select meter_code, extra_key, key_role from intermediate.int_usage_meter_extra_keys
        order by all""",
    ) == [
        ("doc_pages", "pages", "field"),
        ("doc_pages", "region", "dimension"),
        ("doc_pages", "region", "price_condition"),
        ("eu_completions", "region", "filter"),
    ]
    assert query(
        built,
        """
        select distinct meter_code from intermediate.int_usage_extended_daily order by 1""",
    ) == [("doc_pages",), ("eu_completions",)]


def test_lines_on_extra_keys_trace_to_their_events(built: Settings) -> None:
    sql = compile_analysis(built, "invoice_line_events", {})  # no connection held during dbt
    with connect(built.warehouse, read_only=True) as con:
        rows = con.execute(sql).fetchall()
    traced = sorted(
        (r[1], r[3], r[9]) for r in rows if ":doc_pages:" in r[1] or ":eu_completions:" in r[1]
    )
    assert traced == [
        ("usage:sub_docs:doc_pages:0:0", "c1", D("7")),
        ("usage:sub_docs:doc_pages:0:0", "d1", D("100")),
        ("usage:sub_docs:doc_pages:0:0", "d3", D("3")),
        ("usage:sub_docs:doc_pages:0:1", "d2", D("50")),
        ("usage:sub_docs:eu_completions:1:0", "l1", D("1")),
    ]
