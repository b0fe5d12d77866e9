"""A tiny, hand-computable data directory for the controls marts (contract progress, credit
balances, spend alerts, anomalies, weekly summary).

Every customer but ``cus_tokyo`` is in UTC; the last event is on 2026-10-21 (UTC), so the as-of
day (the last complete day) is 2026-10-20 for them and 2026-10-21 for ``cus_tokyo``. The
expected figures are worked out in tests/test_controls_marts.py next to each assertion.

Plans: ``flat`` (no fee; ``tokens`` per_unit 1.00 per 1,000 input tokens, so 100,000 tokens =
100.00) and ``tiered`` (fee 31.00 a month = 1.00 a day in October; ``images`` graduated: the
first 1,000 images of a period at 0.10 plus a 5.00 flat fee due even without usage, the rest at
0.05).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

D = dt.date


@dataclass(frozen=True)
class Usage:
    customer_id: str
    day: dt.date
    kind: str  # tokens | images
    quantity: int
    model: str
    hour: int = 10


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _daily(
    customer_id: str, first: dt.date, last: dt.date, tokens: int, model: str = "gpt-4o-2024-08-06"
) -> list[Usage]:
    return [Usage(customer_id, d, "tokens", tokens, model) for d in _days(first, last)]


CUSTOMERS: tuple[str, ...] = (
    "cus_onpace",
    "cus_atrisk",
    "cus_renewal",
    "cus_budget",
    "cus_trailing",
    "cus_weekly",
    "cus_spike",
    "cus_tokyo",
)
TIMEZONES: dict[str, str] = {"cus_tokyo": "Asia/Tokyo"}


def usage_rows() -> list[Usage]:
    rows: list[Usage] = []
    # A: 100.00 a day Sep 1 .. Oct 21 (Oct 21 is after the as-of day: never counted).
    rows += _daily("cus_onpace", D(2026, 9, 1), D(2026, 10, 21), 100_000)
    # B: 50.00 a day Sep 1 .. Oct 20.
    rows += _daily("cus_atrisk", D(2026, 9, 1), D(2026, 10, 20), 50_000)
    # C: usage 50.00 a day, 20% contract discount -> 40.00 a day.
    rows += _daily("cus_renewal", D(2026, 9, 1), D(2026, 10, 20), 50_000)
    # D: 100.00 a day Oct 1 .. Oct 15 (budget 1000.00): 500 on Oct 5, 800 on Oct 8, 1500 on Oct 15.
    rows += _daily("cus_budget", D(2026, 10, 1), D(2026, 10, 15), 100_000)
    # E: 10.00 a day on days 1..30 of Jul, Aug, Sep (300.00 each), 12.00 a day Oct 1 .. 20.
    for month in (7, 8, 9):
        rows += _daily("cus_trailing", D(2026, month, 1), D(2026, month, 30), 10_000)
    rows += _daily("cus_trailing", D(2026, 10, 1), D(2026, 10, 20), 12_000)
    # F: images on the tiered plan (see the weekly-summary test for the figures).
    for day, qty, model in (
        *[(d, 100, "img-fast") for d in _days(D(2026, 10, 5), D(2026, 10, 11))],
        (D(2026, 10, 12), 200, "img-fast"),
        (D(2026, 10, 13), 300, "img-pro"),
        (D(2026, 10, 14), 800, "img-pro"),
        (D(2026, 10, 15), 100, "img-fast"),
    ):
        rows.append(Usage("cus_weekly", day, "images", qty, model))
    # G: 20.00 a day Sep 1 .. Oct 20, except a 10x spike (200.00) on Oct 14.
    spike = D(2026, 10, 14)
    rows += [
        u if u.day != spike else Usage(u.customer_id, u.day, u.kind, 200_000, u.model)
        for u in _daily("cus_spike", D(2026, 9, 1), D(2026, 10, 20), 20_000)
    ]
    # T (Asia/Tokyo, UTC+9): 2026-09-30T20:00Z is Oct 1 local (30.00 of October); its last
    # event, 2026-10-21T16:00Z, is Oct 22 local, so its as-of day is Oct 21 (UTC ones: Oct 20).
    rows.append(Usage("cus_tokyo", D(2026, 9, 30), "tokens", 30_000, "gpt-4o-2024-08-06", 20))
    rows.append(Usage("cus_tokyo", D(2026, 10, 21), "tokens", 10_000, "gpt-4o-2024-08-06", 16))
    return rows


def _event(i: int, u: Usage) -> dict[str, object]:
    data: dict[str, object]
    if u.kind == "tokens":
        data = {
            "provider": "openai",
            "model": u.model,
            "input_tokens": u.quantity,
            "cached_input_tokens": 0,
            "cache_write_tokens": 0,
            "output_tokens": 10,
            "status": "success",
            "latency_ms": 100,
        }
        etype = "llm.completion"
    else:
        data = {
            "provider": "openai",
            "model": u.model,
            "images": u.quantity,
            "status": "success",
            "latency_ms": 100,
        }
        etype = "image.generation"
    return {
        "specversion": "1.0",
        "id": f"evt_{i:06d}",
        "source": "gw-test",
        "type": etype,
        "subject": u.customer_id,
        "time": f"{u.day.isoformat()}T{u.hour:02d}:00:00Z",
        "data": data,
    }


METERS_YML = """meters:
  - code: tokens
    name: Input tokens
    event_type: llm.completion
    aggregation: sum
    field: input_tokens
    unit: token
    dimensions: [model]
  - code: images
    name: Images
    event_type: image.generation
    aggregation: sum
    field: images
    unit: image
    dimensions: [model]
"""

FLAT_PLAN_YML = """code: flat
version: 1
name: Flat
currency: USD
effective_from: 2026-01-01
fee: "0.00"
charges:
  - meter: tokens
    model: per_unit
    price_per: 1000
    prices:
      - unit_price: "1.00"
"""

TIERED_PLAN_YML = """code: tiered
version: 1
name: Tiered
currency: USD
effective_from: 2026-01-01
fee: "31.00"
charges:
  - meter: images
    model: graduated
    prices:
      - tiers:
          - {up_to: 1000, unit_price: "0.10", flat_fee: "5.00"}
          - {unit_price: "0.05"}
"""

CUSTOMERS_CSV_HEADER = (
    "customer_id,name,currency,timezone,tax_rate,segment,parent_customer_id,billing_email"
)

SUBSCRIPTIONS: tuple[tuple[str, str, str], ...] = (
    ("cus_onpace", "flat", "2026-09-01"),
    ("cus_atrisk", "flat", "2026-09-01"),
    ("cus_renewal", "flat", "2026-09-01"),
    ("cus_budget", "flat", "2026-10-01"),
    ("cus_trailing", "flat", "2026-07-01"),
    ("cus_weekly", "tiered", "2026-10-01"),
    ("cus_spike", "flat", "2026-09-01"),
    ("cus_tokyo", "flat", "2026-09-01"),
)

CONTRACTS_CSV = """\
contract_id,customer_id,start_date,end_date,commit_amount,commit_period,usage_discount_pct,\
renewal_notice_days
ctr_onpace,cus_onpace,2026-09-01,2026-12-01,9100.00,term,0,30
ctr_atrisk,cus_atrisk,2026-09-01,2026-12-01,9100.00,term,0,30
ctr_renewal,cus_renewal,2026-09-01,2026-11-01,1000.00,month,20,30
"""

# B: a paid grant; G: a promotional grant expiring inside 30 days of the as-of day.
CREDIT_GRANTS_CSV = """grant_id,customer_id,amount,granted_at,expires_at,priority,kind
gr_atrisk,cus_atrisk,5000.00,2026-09-01,,1,paid
gr_spike_promo,cus_spike,2000.00,2026-10-01,2026-11-10,1,promotional
"""

BUDGETS_CSV = """customer_id,monthly_budget,alert_thresholds_pct,hard_limit
cus_budget,1000.00,,true
cus_onpace,10000.00,80|150,false
"""


def write_data_dir(data: Path, rows: Iterable[Usage] | None = None) -> Path:
    """Write the reference files and one usage file under ``data`` (created); return ``data``."""
    ref = data / "reference"
    (ref / "plans").mkdir(parents=True, exist_ok=True)
    (data / "raw" / "usage").mkdir(parents=True, exist_ok=True)
    (ref / "meters.yml").write_text(METERS_YML)
    (ref / "plans" / "flat_v1.yml").write_text(FLAT_PLAN_YML)
    (ref / "plans" / "tiered_v1.yml").write_text(TIERED_PLAN_YML)
    (ref / "customers.csv").write_text(
        CUSTOMERS_CSV_HEADER
        + "\n"
        + "".join(
            f"{c},{c[4:].capitalize()},USD,{TIMEZONES.get(c, 'UTC')},0,enterprise,,"
            f"billing@{c[4:]}.test\n"
            for c in CUSTOMERS
        )
    )
    (ref / "subscriptions.csv").write_text(
        "subscription_id,customer_id,plan_code,start_date,end_date\n"
        + "".join(f"sub_{c[4:]},{c},{p},{start},\n" for c, p, start in SUBSCRIPTIONS)
    )
    (ref / "contracts.csv").write_text(CONTRACTS_CSV)
    (ref / "credit_grants.csv").write_text(CREDIT_GRANTS_CSV)
    (ref / "budgets.csv").write_text(BUDGETS_CSV)
    events = sorted(
        rows if rows is not None else usage_rows(), key=lambda u: (u.day, u.hour, u.customer_id)
    )
    lines = [json.dumps(_event(i, u), separators=(",", ":")) for i, u in enumerate(events, 1)]
    (data / "raw" / "usage" / "usage_2026-10-21.jsonl").write_text("\n".join(lines) + "\n")
    return data
