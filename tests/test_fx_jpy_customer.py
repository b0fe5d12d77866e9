"""A JPY customer whose COGS are in USD (issue 22), computed by hand.

cus_sakura is billed in JPY (ISO 4217: 0 decimal places) on plan `pro_jp` v1, priced in yen
(a plan bills in its own currency; docs/design.md "Currencies"): fee 15000 / month, gpt-4o
input 375 and output 1500 per 1,000,000 tokens. Subscribed from 2026-10-12, UTC, tax 10 %.
October usage (all gpt-4o, sent to OpenAI):
    2026-10-14: 1,200,000 input + 101,000 output tokens
    2026-10-20:   900,000 input +  99,000 output tokens

Invoice (each line rounded once, half away from zero, to whole yen):
    fee     15000 x 20/31 days = 9677.419...            ->  9677   (2 places would be 9677.42)
    input   2,100,000 x 375 / 1,000,000 = 787.5         ->   788   (half away from zero)
    output    200,000 x 1500 / 1,000,000 = 300          ->   300
    subtotal 9677 + 788 + 300                            = 10765
    tax     10765 x 0.1 = 1076.5                         ->  1077
    total   10765 + 1077                                 = 11842

COGS: OpenAI billed exactly the list price (gpt-4o 2.50 input / 10.00 output per 1M tokens):
    2026-10-14: 3.00 + 1.01 = 4.01 USD      2026-10-20: 2.25 + 0.99 = 3.24 USD  (7.25 USD)
Rates (reference/fx_rates.csv, 1 USD = x JPY): 2026-10-14 149.85, 2026-10-20 151.2375.
Each COGS allocation row (one per OpenAI line item and day) is converted and rounded to yen:
    2026-10-14: 3.00 x 149.85 = 449.55 -> 450;  1.01 x 149.85 = 151.3485 -> 151;  day 601
    2026-10-20: 2.25 x 151.2375 = 340.284375 -> 340;  0.99 x 151.2375 = 149.725125 -> 150;  day 490
    (the day totals converted at once give the same: 4.01 x 149.85 = 600.8985 -> 601,
     3.24 x 151.2375 = 490.0095 -> 490)
    COGS 601 + 490 = 1091 JPY
Margin: revenue 10765 (no credits) - 1091 = 9674 JPY; margin % = 9674 / 10765 = 89.87 %;
markup % = 9674 / 1091 = 886.71 %.

First the rate of 2026-10-20 is missing: the margin is not computed (NULL, flag
missing_fx_rate), fct_fx_rates_missing names the day, and the close refuses naming the pair and
the day. With the rate added, the close issues the invoice and its CSV has whole-yen amounts."""

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
from orchestration.run_log import RunLog, write_run_log
from tests.support.costs import build_costs, query, write_json
from tests.support.rating import METERS, Scenario, event, write_data_dir

pytestmark = pytest.mark.filterwarnings("ignore::Warning")

D = Decimal
C = "cus_sakura"
PERIOD = "2026-10"
MARTS = (
    "fct_invoice_lines",
    "fct_customer_margin",
    "fct_customer_margin_breakdown",
    "fct_cogs_daily",
    "fct_fx_rates_missing",
)

PRO_JP: dict[str, Any] = {
    "code": "pro_jp",
    "version": 1,
    "name": "Pro (Japan)",
    "currency": "JPY",
    "effective_from": "2026-01-01",
    "fee": "15000",
    "charges": [
        {
            "meter": "llm_input_tokens",
            "model": "per_unit",
            "price_per": 1000000,
            "prices": [{"when": {"model": "gpt-4o*"}, "unit_price": "375"}],
        },
        {
            "meter": "llm_output_tokens",
            "model": "per_unit",
            "price_per": 1000000,
            "prices": [{"when": {"model": "gpt-4o*"}, "unit_price": "1500"}],
        },
    ],
}

RATE_1014 = "2026-10-14,USD,JPY,149.85\n"
RATE_1020 = "2026-10-20,USD,JPY,151.2375\n"
FX_HEADER = "date,from_currency,to_currency,rate\n"


def sakura() -> Scenario:
    llm = "llm.completion"
    model = "gpt-4o-2024-08-06"
    return Scenario(
        customers=[
            {
                "customer_id": C,
                "name": "Sakura KK",
                "currency": "JPY",
                "timezone": "UTC",
                "tax_rate": "0.1",
                "segment": "startup",
                "parent_customer_id": "",
                "billing_email": "",
            }
        ],
        subscriptions=[
            {
                "subscription_id": "sub_sakura",
                "customer_id": C,
                "plan_code": "pro_jp",
                "start_date": "2026-10-12",
                "end_date": "",
            }
        ],
        plans=[PRO_JP],
        meters=[m for m in METERS if m["code"].startswith("llm_")],
        events=[
            event(
                "s1", C, llm, "2026-10-14T09:00:00Z", provider="openai", model=model,
                input_tokens=1_200_000, output_tokens=101_000,
            ),
            event(
                "s2", C, llm, "2026-10-20T09:00:00Z", provider="openai", model=model,
                input_tokens=900_000, output_tokens=99_000,
            ),
        ],
    )  # fmt: skip


def _openai_costs(data: Path) -> None:
    def bucket(day: str, items: list[tuple[str, str]]) -> dict[str, Any]:
        start = int(dt.datetime.fromisoformat(f"{day}T00:00:00+00:00").timestamp())
        return {
            "object": "bucket",
            "start_time": start,
            "end_time": start + 86400,
            "results": [
                {
                    "object": "organization.costs.result",
                    "amount": {"value": value, "currency": "usd"},
                    "line_item": item,
                    "project_id": None,
                    "api_key_id": None,
                }
                for item, value in items
            ],
        }

    gpt = "gpt-4o-2024-08-06"
    page = {
        "object": "page",
        "data": [
            bucket("2026-10-14", [(f"{gpt}, input", "3.00"), (f"{gpt}, output", "1.01")]),
            bucket("2026-10-20", [(f"{gpt}, input", "2.25"), (f"{gpt}, output", "0.99")]),
        ],
        "has_more": False,
        "next_page": None,
    }
    write_json(data, "raw/costs/openai/costs_2026-10-01_2026-10-31.json", page)


def _close(s: Settings) -> tuple[bool, str]:
    write_run_log(s, RunLog(status="succeeded", started_at="2026-11-05T00:00:00Z"))
    messages: list[str] = []
    ok = close_period(s, PERIOD, [], now=dt.datetime(2026, 11, 5), echo=messages.append)
    return ok, "\n".join(messages)


@pytest.fixture(scope="module")
def missing_rate(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Built with the rate of 2026-10-20 missing; state captured before the rate is added."""
    data = tmp_path_factory.mktemp("fx_jpy") / "data"
    data.mkdir()
    write_data_dir(data, sakura())
    _openai_costs(data)
    (data / "reference" / "fx_rates.csv").write_text(FX_HEADER + RATE_1014, encoding="utf-8")
    s = settings(data)
    build_costs(s, *MARTS)
    ok, message = _close(s)
    return {
        "settings": s,
        "margin": query(
            s,
            "select currency, revenue, cogs_total, gross_margin, margin_pct, margin_flag, "
            "cost_currency, cogs_total_cost_currency, fx_status, missing_fx_rate_days "
            "from marts.fct_customer_margin",
        ),
        "missing": query(
            s,
            "select customer_id, period, rate_date::varchar, from_currency, to_currency, "
            "unconverted_cogs from marts.fct_fx_rates_missing",
        ),
        "daily": query(
            s,
            "select cost_date::varchar, cogs_total, currency, reporting_currency, fx_rate, "
            "fx_status, cogs_total_reporting from marts.fct_cogs_daily order by cost_date",
        ),
        "breakdown": query(
            s,
            "select model, revenue, cogs_total, gross_margin, fx_status "
            "from marts.fct_customer_margin_breakdown order by model",
        ),
        "closed": ok,
        "message": message,
        "ledger": query(s, "select count(*) from ledger.issued_invoices")[0][0],
    }


@pytest.fixture(scope="module")
def with_rate(missing_rate: dict[str, Any]) -> Settings:
    """The same data directory with the missing rate added, rebuilt and closed."""
    s: Settings = missing_rate["settings"]
    (s.data_dir / "reference" / "fx_rates.csv").write_text(
        FX_HEADER + RATE_1014 + RATE_1020, encoding="utf-8"
    )
    build_costs(s, *MARTS)
    return s


def test_invoice_is_in_whole_yen(with_rate: Settings) -> None:
    lines = query(
        with_rate,
        "select line_type, quantity, amount, currency from marts.fct_invoice_lines "
        "where period = '2026-10' order by line_no",
    )
    assert lines == [
        ("subscription", D("20"), D("9677.00"), "JPY"),
        ("usage", D("2100000"), D("788.00"), "JPY"),
        ("usage", D("200000"), D("300.00"), "JPY"),
        ("tax", D("10765.00"), D("1077.00"), "JPY"),
    ]
    assert query(
        with_rate,
        "select description, price_basis from marts.fct_invoice_lines "
        "where period = '2026-10' and line_type = 'subscription'",
    ) == [
        (
            "Pro (Japan) v1 subscription (20/31 days of 15000)",
            "15000 per month × 20/31 days (2026-10-12 to 2026-10-31)",
        )
    ]
    assert query(
        with_rate,
        "select subtotal, tax_total, total, currency from marts.fct_invoices "
        "where period = '2026-10'",
    ) == [(D("10765.00"), D("1077.00"), D("11842.00"), "JPY")]


def test_margin_converts_usd_cogs_at_the_rate_of_each_day(with_rate: Settings) -> None:
    assert query(
        with_rate,
        "select cost_date::varchar, cogs_total, currency, reporting_currency, fx_rate, "
        "fx_status, cogs_total_reporting from marts.fct_cogs_daily order by cost_date",
    ) == [
        ("2026-10-14", D("4.01"), "USD", "JPY", D("149.85"), "converted", D("601.00")),
        ("2026-10-20", D("3.24"), "USD", "JPY", D("151.2375"), "converted", D("490.00")),
    ]
    assert query(
        with_rate,
        "select currency, revenue, cogs_total, gross_margin, margin_pct, markup_pct, "
        "cost_currency, cogs_total_cost_currency, fx_status, missing_fx_rate_days, margin_flag "
        "from marts.fct_customer_margin",
    ) == [
        (
            "JPY", D("10765.00"), D("1091.00"), D("9674.00"), D("89.87"), D("886.71"),
            "USD", D("7.25"), "converted", 0, "ok",
        )
    ]  # fmt: skip
    assert query(
        with_rate,
        "select sum(revenue), sum(cogs_total), sum(gross_margin) "
        "from marts.fct_customer_margin_breakdown",
    ) == [(D("10765.00"), D("1091.00"), D("9674.00"))]
    assert query(with_rate, "select count(*) from marts.fct_fx_rates_missing") == [(0,)]


def test_a_missing_rate_leaves_margin_unpriced_never_zero(missing_rate: dict[str, Any]) -> None:
    assert missing_rate["margin"] == [
        ("JPY", D("10765.00"), None, None, None, "missing_fx_rate", "USD", D("7.25"),
         "missing_rate", 1),
    ]  # fmt: skip
    assert missing_rate["missing"] == [(C, PERIOD, "2026-10-20", "USD", "JPY", D("3.24"))]
    assert missing_rate["daily"] == [
        ("2026-10-14", D("4.01"), "USD", "JPY", D("149.85"), "converted", D("601.00")),
        ("2026-10-20", D("3.24"), "USD", "JPY", None, "missing_rate", None),
    ]
    # the usage row's COGS cannot be converted: its margin is unknown, not its revenue
    assert missing_rate["breakdown"] == [
        ("(non-usage)", D("9677.00"), D("0.00"), D("9677.00"), None),
        ("gpt-4o", D("1088.00"), None, None, "missing_rate"),
    ]


def test_a_missing_rate_blocks_the_close_naming_pair_and_day(
    missing_rate: dict[str, Any],
) -> None:
    assert not missing_rate["closed"]
    assert missing_rate["ledger"] == 0
    assert missing_rate["message"] == (
        "refused to close 2026-10: no exchange rate for USD->JPY on 2026-10-20 (cus_sakura): "
        "their COGS cannot be converted to the customer's currency "
        "(marts.fct_fx_rates_missing). Add the rates to reference/fx_rates.csv "
        "(date,from_currency,to_currency,rate) and re-run, or exclude them: "
        "--exclude cus_sakura"
    )


def test_closed_invoice_csv_writes_yen_without_decimals(with_rate: Settings) -> None:
    ok, message = _close(with_rate)
    assert ok, message
    out = with_rate.exports_dir / "invoices" / PERIOD
    text = (out / "INV-202610-00001.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["line_type"], r["amount"], r["currency"]) for r in rows] == [
        ("subscription", "9677", "JPY"),
        ("usage", "788", "JPY"),
        ("usage", "300", "JPY"),
        ("tax", "1077", "JPY"),
    ]
    summary = list(
        csv.DictReader(io.StringIO((out / "summary.csv").read_text(encoding="utf-8-sig")))
    )
    assert [(r["subtotal"], r["tax_total"], r["total"], r["currency"]) for r in summary] == [
        ("10765", "1077", "11842", "JPY")
    ]
    html = (out / "INV-202610-00001.html").read_text(encoding="utf-8")
    assert "JPY 11,842" in html and "11,842.00" not in html and "9,677" in html
