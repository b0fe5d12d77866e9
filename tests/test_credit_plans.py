"""Credit-denominated plans (issue 22), computed by hand.

cus_pixel (UTC, tax 20 %) is on plan `studio` v1 (USD) from 2026-09-01: fee 49.00 / month and
    credits: allowance 10,000 a month, rollover capped at 5,000, overage 0.01 per credit
    images            per_unit, 4 credits per image
    input tokens      per_unit, 1 credit per 1,000 tokens (gpt-4o*)
    API requests      graduated in credits: first 1,000 at 0.5 credit, above at 0.25 credit
Credit packs (credit_grants.csv, unit credits):
    pack_a  3,000 credits, paid 25.00, granted 2026-09-15, no expiry
    pack_b  2,000 credits, paid 20.00, granted 2026-10-05, expires 2026-12-01
Draw order: rolled-over credits, then the allowance, then packs by earliest expiry (none last):
in October pack_b (expires 2026-12-01) is drawn before pack_a (no expiry).

September (credits are DECIMAL(38,6), each line rounded once to 6 places):
    images     500 x 4                                   =  2,000 credits
    input      1,234,567 tokens x 1 / 1,000              =  1,234.567 credits
    requests   1,500: 1,000 x 0.5 + 500 x 0.25           =    625 credits
    consumed   2,000 + 1,234.567 + 625                   =  3,859.567
    plan       rollover in 0 + allowance 10,000; drawn 3,859.567 (all from the allowance)
    left       10,000 - 3,859.567 = 6,140.433 -> rolls over 5,000 (cap), forfeited 1,140.433
    packs      pack_a granted (3,000), nothing drawn; overage 0
    remaining  5,000 (rollover) + 3,000 (pack_a) = 8,000
    invoice    fee 49.00, usage lines 0.00 (in credits), subtotal 49.00, tax 9.80, total 58.80

October:
    images     5,000 x 4                                 = 20,000 credits
    input      2,500,333 tokens / 1,000                  =  2,500.333 credits
    requests   600 x 0.5                                 =    300 credits
    consumed   20,000 + 2,500.333 + 300                  = 22,800.333
    plan       rollover in 5,000 + allowance 10,000 = 15,000, drawn whole: 5,000 rollover first,
               then 10,000 allowance; still needed 7,800.333
    packs      pack_b 2,000 (expires first), then pack_a 3,000 -> 5,000 drawn; 2,800.333 left
    overage    2,800.333 credits x 0.01 = 28.00333 -> 28.00 (round_money)
    remaining  0 (rollover out 0, packs 0)
    invoice    fee 49.00 + overage 28.00 = subtotal 77.00, tax 15.40, total 92.40

Margin per credit (fct_credit_margin). The LLM events went to OpenAI, which billed 3.09 for
2026-09-04 and 6.25 for 2026-10-04 (the customer's only provider usage: COGS = what was billed).
    September  revenue = fee 49.00 (no overage, no pack credits drawn)         =  49.00
               COGS 3.09; margin 45.91
               per credit: 49 / 3,859.567 = 0.012695724676 (12 places, half away from zero)
               COGS 3.09 / 3,859.567 = 0.000800607944; margin 45.91 / 3,859.567 = 0.011895116732
    October    revenue = fee 49.00 + overage 28.00 + pack credits drawn at their price
               (pack_b 2,000 x 20.00 / 2,000 = 20.00, pack_a 3,000 x 25.00 / 3,000 = 25.00) = 122.00
               COGS 6.25; margin 115.75
               per credit: 122 / 22,800.333 = 0.005350799043; COGS 0.000274118803;
               margin 115.75 / 22,800.333 = 0.005076680240
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from orchestration.config import Settings, settings
from orchestration.ingest.results import ReferenceDataError
from orchestration.quality.reference_suites import CSV_SPECS
from tests.support.costs import build_costs, write_json
from tests.support.rating import (
    METERS,
    Scenario,
    _write_csv,
    event,
    load,
    query,
    write_data_dir,
)

pytestmark = pytest.mark.filterwarnings("ignore::Warning")

D = Decimal
C = "cus_pixel"
GPT = "gpt-4o-2024-08-06"

STUDIO: dict[str, Any] = {
    "code": "studio",
    "version": 1,
    "name": "Studio",
    "currency": "USD",
    "effective_from": "2026-01-01",
    "fee": "49.00",
    "credits": {"allowance": 10000, "rollover": {"cap": 5000}, "overage_rate": "0.01"},
    "charges": [
        {"meter": "images", "model": "per_unit", "prices": [{"credit_price": "4"}]},
        {
            "meter": "llm_input_tokens",
            "model": "per_unit",
            "price_per": 1000,
            "prices": [{"when": {"model": "gpt-4o*"}, "credit_price": "1"}],
        },
        {
            "meter": "api_requests",
            "model": "graduated",
            "prices": [
                {"tiers": [{"up_to": 1000, "credit_price": "0.5"}, {"credit_price": "0.25"}]}
            ],
        },
    ],
}

# the loader's own column list for the file (packs use the optional unit and price_paid)
GRANT_COLS = next(spec.columns for spec in CSV_SPECS if spec.file == "credit_grants.csv")
PACKS = [
    {
        "grant_id": "pack_a",
        "customer_id": C,
        "amount": "3000",
        "granted_at": "2026-09-15",
        "expires_at": "",
        "priority": "0",
        "kind": "paid",
        "unit": "credits",
        "price_paid": "25.00",
    },
    {
        "grant_id": "pack_b",
        "customer_id": C,
        "amount": "2000",
        "granted_at": "2026-10-05",
        "expires_at": "2026-12-01",
        "priority": "0",
        "kind": "paid",
        "unit": "credits",
        "price_paid": "20.00",
    },
]


def scenario() -> Scenario:
    llm, img, emb = "llm.completion", "image.generation", "embedding"
    events = [
        event("s1", C, img, "2026-09-03T10:00:00Z", images=500),
        event(
            "s2", C, llm, "2026-09-04T10:00:00Z",
            provider="openai", model=GPT, input_tokens=1_234_567,
        ),
        event("s3", C, emb, "2026-09-05T10:00:00Z", requests=1500),
        event("o1", C, img, "2026-10-03T10:00:00Z", images=3000),
        event("o2", C, img, "2026-10-20T10:00:00Z", images=2000),
        event(
            "o3", C, llm, "2026-10-04T10:00:00Z",
            provider="openai", model=GPT, input_tokens=2_500_333,
        ),
        event("o4", C, emb, "2026-10-05T10:00:00Z", requests=600),
    ]  # fmt: skip
    return Scenario(
        customers=[
            {
                "customer_id": C,
                "name": "Pixel Studio",
                "currency": "USD",
                "timezone": "UTC",
                "tax_rate": "0.2",
                "segment": "smb",
                "parent_customer_id": "",
                "billing_email": "billing@pixel.example",
            }
        ],
        subscriptions=[
            {
                "subscription_id": "sub_px",
                "customer_id": C,
                "plan_code": "studio",
                "start_date": "2026-09-01",
                "end_date": "",
            }
        ],
        plans=[STUDIO],
        meters=list(METERS),
        events=events,
        usage_file="raw/usage/usage_2026-10-31.jsonl",
    )


def write(root: Path, plan: dict[str, Any] = STUDIO) -> Settings:
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    sc = scenario()
    sc.plans = [plan]
    write_data_dir(data, sc)
    _write_csv(data / "reference" / "credit_grants.csv", GRANT_COLS, PACKS)
    return settings(data)


def _openai_costs(data: Path) -> None:
    def bucket(day: str, value: str) -> dict[str, Any]:
        start = int(dt.datetime.fromisoformat(f"{day}T00:00:00+00:00").timestamp())
        return {
            "object": "bucket",
            "start_time": start,
            "end_time": start + 86400,
            "results": [
                {
                    "object": "organization.costs.result",
                    "amount": {"value": value, "currency": "usd"},
                    "line_item": f"{GPT}, input",
                    "project_id": None,
                    "api_key_id": None,
                }
            ],
        }

    page = {
        "object": "page",
        "data": [bucket("2026-09-04", "3.09"), bucket("2026-10-04", "6.25")],
        "has_more": False,
        "next_page": None,
    }
    write_json(data, "raw/costs/openai/costs_2026-09-01_2026-10-31.json", page)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    s = write(tmp_path_factory.mktemp("credits"))
    _openai_costs(s.data_dir)
    build_costs(s, "fct_credit_margin", "fct_invoices", "fct_credit_ledger", "fct_credit_periods")
    return s


def test_usage_lines_are_priced_in_credits_and_cost_no_money(built: Settings) -> None:
    rows = query(
        built,
        "select period, meter_code, quantity, amount, unit_price, description "
        "from marts.fct_invoice_lines where line_type = 'usage' and meter_code is not null "
        "order by period, meter_code",
    )
    got = [(p, m, q, a, u) for p, m, q, a, u, _ in rows]
    assert got == [
        ("2026-09", "api_requests", D("1500"), D("0.00"), None),
        ("2026-09", "images", D("500"), D("0.00"), None),
        ("2026-09", "llm_input_tokens", D("1234567"), D("0.00"), None),
        ("2026-10", "api_requests", D("600"), D("0.00"), None),
        ("2026-10", "images", D("5000"), D("0.00"), None),
        ("2026-10", "llm_input_tokens", D("2500333"), D("0.00"), None),
    ]
    texts = {(p, m): d for p, m, _q, _a, _u, d in rows}
    assert texts[("2026-09", "llm_input_tokens")].endswith("= 1,234.567 credits")
    assert "in credits" in texts[("2026-09", "images")]
    assert texts[("2026-09", "api_requests")].endswith("= 625 credits")


def test_credit_periods_by_hand(built: Settings) -> None:
    rows = query(
        built,
        "select period, allowance_granted, rollover_in, packs_granted, credits_consumed, "
        "drawn_rollover, drawn_allowance, drawn_packs, overage_credits, rollover_out, forfeited, "
        "packs_remaining, credits_remaining, overage_amount "
        "from marts.fct_credit_periods where customer_id = 'cus_pixel' order by period",
    )
    assert rows == [
        (
            "2026-09",
            D("10000"),
            D("0"),
            D("3000"),
            D("3859.567"),
            D("0"),
            D("3859.567"),
            D("0"),
            D("0"),
            D("5000"),
            D("1140.433"),
            D("3000"),
            D("8000"),
            D("0.00"),
        ),
        (
            "2026-10",
            D("10000"),
            D("5000"),
            D("2000"),
            D("22800.333"),
            D("5000"),
            D("10000"),
            D("5000"),
            D("2800.333"),
            D("0"),
            D("0"),
            D("0"),
            D("0"),
            D("28.00"),
        ),
    ]


def test_packs_drawn_earliest_expiry_first(built: Settings) -> None:
    rows = query(
        built,
        "select period, source_id, drawn, balance_after from intermediate.int_billing_credit_draws "
        "where customer_id = 'cus_pixel' and source_kind = 'pack' order by period, draw_rank",
    )
    assert rows == [
        ("2026-09", "pack_b", D("0"), D("2000")),
        ("2026-09", "pack_a", D("0"), D("3000")),
        ("2026-10", "pack_b", D("2000"), D("0")),
        ("2026-10", "pack_a", D("3000"), D("0")),
    ]


def test_invoices_by_hand(built: Settings) -> None:
    rows = query(
        built,
        "select period, subtotal, tax_total, total from marts.fct_invoices "
        "where customer_id = 'cus_pixel' order by period",
    )
    assert rows == [
        ("2026-09", D("49.00"), D("9.80"), D("58.80")),
        ("2026-10", D("77.00"), D("15.40"), D("92.40")),
    ]
    # one credits line per invoice: consumed by source, remaining, and the overage in money
    lines = query(
        built,
        "select line_key, quantity, unit, unit_price, amount, description "
        "from marts.fct_invoice_lines where charge_model = 'credit_overage' order by period",
    )
    assert lines == [
        (
            "credit_overage:cus_pixel:2026-09",
            D("0"),
            "credit",
            D("0.01"),
            D("0.00"),
            "Credits · consumed 3,859.567 (rolled over 0, allowance 3,859.567, packs 0, "
            "overage 0); remaining 8,000 (5,000 rolls over, 1,140.433 forfeited)",
        ),
        (
            "credit_overage:cus_pixel:2026-10",
            D("2800.333"),
            "credit",
            D("0.01"),
            D("28.00"),
            "Credits · consumed 22,800.333 (rolled over 5,000, allowance 10,000, packs 5,000, "
            "overage 2,800.333); remaining 0 (0 rolls over, 0 forfeited)",
        ),
    ]


def test_bad_credit_plan_is_refused_naming_file_and_field(tmp_path: Path) -> None:
    bad = dict(STUDIO)
    bad["credits"] = {"allowance": "-5", "rollover": {"cap": "lots"}, "overage_rate": "0.01"}
    bad["charges"] = [
        {
            "meter": "images",
            "model": "per_unit",
            "prices": [{"credit_price": "4"}, {"unit_price": "0.05"}],
        },
        {"meter": "api_requests", "model": "package", "prices": [{"credit_price": "1"}]},
    ]
    s = write(tmp_path, bad)
    with pytest.raises(ReferenceDataError) as exc:
        load(s)
    msg = str(exc.value)
    assert "plans/studio_v1.yml: credits.allowance: '-5' is negative" in msg
    assert "plans/studio_v1.yml: credits.rollover.cap: 'lots' is not a decimal number" in msg
    assert "charges[0]: mixes unit_price and credit_price" in msg
    assert "charges[1].model: a package charge cannot be priced in credits" in msg


def test_credit_ledger_holds_credit_units_beside_money(built: Settings) -> None:
    # balance: +10,000 allowance, +3,000 pack_a, -3,859.567 drawn, -1,140.433 forfeited = 8,000
    # at September's end; October +10,000 allowance (+5,000 rolled in is already in the
    # balance), +2,000 pack_b, -3,000 pack_a, -2,000 pack_b, -15,000 plan = 0; the overage
    # 2,800.333 credits is informational in credits, 28.00 in money
    rows = query(
        built,
        "select entry_type, grant_id, period, amount, credits, credit_balance_after "
        "from marts.fct_credit_ledger where customer_id = 'cus_pixel' "
        "order by entry_at, period, credit_balance_after desc, entry_type",
    )
    assert rows == [
        ("credit_allowance", "plan:cus_pixel", "2026-09", D("0.00"), D("10000"), D("10000")),
        ("credit_pack", "pack_a", None, D("25.00"), D("3000"), D("13000")),
        ("credit_drawn", "plan:cus_pixel", "2026-09", D("0.00"), D("-3859.567"), D("9140.433")),
        ("credit_forfeited", "plan:cus_pixel", "2026-09", D("0.00"), D("-1140.433"), D("8000")),
        ("credit_allowance", "plan:cus_pixel", "2026-10", D("0.00"), D("10000"), D("18000")),
        ("credit_rollover_in", "plan:cus_pixel", "2026-10", D("0.00"), D("5000"), D("18000")),
        ("credit_pack", "pack_b", None, D("20.00"), D("2000"), D("20000")),
        ("credit_drawn", "pack_a", "2026-10", D("0.00"), D("-3000"), D("17000")),
        ("credit_drawn", "pack_b", "2026-10", D("0.00"), D("-2000"), D("15000")),
        ("credit_drawn", "plan:cus_pixel", "2026-10", D("0.00"), D("-15000"), D("0")),
        ("credit_overage", "plan:cus_pixel", "2026-10", D("28.00"), D("2800.333"), D("0")),
    ]
    assert query(built, "select count(*) from marts.fct_credit_ledger where unit = 'money'") == [
        (0,)
    ]


def test_margin_per_credit_by_hand(built: Settings) -> None:
    rows = query(
        built,
        "select period, credits_consumed, credit_plan_fees, overage_amount, packs_drawn_value, "
        "credit_revenue, credit_cogs, credit_gross_margin, revenue_per_credit, cogs_per_credit, "
        "margin_per_credit from marts.fct_credit_margin order by period",
    )
    assert rows == [
        (
            "2026-09",
            D("3859.567"),
            D("49.00"),
            D("0.00"),
            D("0.00"),
            D("49.00"),
            D("3.09"),
            D("45.91"),
            D("0.012695724676"),
            D("0.000800607944"),
            D("0.011895116732"),
        ),
        (
            "2026-10",
            D("22800.333"),
            D("49.00"),
            D("28.00"),
            D("45.00"),
            D("122.00"),
            D("6.25"),
            D("115.75"),
            D("0.005350799043"),
            D("0.000274118803"),
            D("0.005076680240"),
        ),
    ]
