"""Reference files: meters, plan versions, customers, subscriptions, contracts, credit grants,
budgets, provider prices and cost allocation rules (formats: ARCHITECTURE.md, PRICING.md,
docs/design.md)."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from meterline_dev.generator.exports import provider_price_rows
from meterline_dev.generator.scenario import Scenario
from orchestration.quality.reference_suites import CSV_SPECS

METERS: list[dict[str, Any]] = [
    {
        "code": "llm_input_tokens",
        "name": "LLM input tokens",
        "event_type": "llm.completion",
        "aggregation": "sum",
        "field": "input_tokens",
        "unit": "token",
        "dimensions": ["provider", "model"],
    },
    {
        "code": "llm_output_tokens",
        "name": "LLM output tokens",
        "event_type": "llm.completion",
        "aggregation": "sum",
        "field": "output_tokens",
        "unit": "token",
        "dimensions": ["provider", "model"],
    },
    {
        "code": "api_requests",
        "name": "API requests",
        "event_type": "llm.completion",
        "aggregation": "count",
        "unit": "request",
    },
    {
        "code": "embedding_tokens",
        "name": "Embedding tokens",
        "event_type": "embedding",
        "aggregation": "sum",
        "field": "input_tokens",
        "unit": "token",
        "dimensions": ["model"],
    },
    {
        "code": "images",
        "name": "Generated images",
        "event_type": "image.generation",
        "aggregation": "sum",
        "field": "images",
        "unit": "image",
        "dimensions": ["model"],
    },
    {
        "code": "audio_seconds",
        "name": "Transcribed audio",
        "event_type": "audio.transcription",
        "aggregation": "sum",
        "field": "audio_seconds",
        "unit": "second",
        "dimensions": ["model"],
    },
    {
        "code": "gpu_seconds",
        "name": "GPU seconds",
        "event_type": "gpu.job",
        "aggregation": "sum",
        "field": "gpu_seconds",
        "unit": "gpu_second",
        "dimensions": ["gpu_type"],
    },
    {
        "code": "resolved_tickets",
        "name": "Resolved agent tasks",
        "event_type": "agent.task",
        "aggregation": "count",
        "filter": {"outcome": "resolved"},
        "unit": "ticket",
    },
    {
        "code": "storage_gb",
        "name": "Stored data (peak)",
        "event_type": "storage.snapshot",
        "aggregation": "max",
        "field": "gb_stored",
        "unit": "gb",
    },
]

_TOKEN_GLOBS = ("gpt-4o-mini*", "gpt-4o*", "gpt-5-mini*", "claude-sonnet-4-5*", "claude-haiku-4-5*")


def _token_prices(
    prices: tuple[str, ...], default: str, free_gpt4o: int = 0
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for glob, price in zip(_TOKEN_GLOBS, prices, strict=True):
        row: dict[str, Any] = {"when": {"model": glob}, "unit_price": price}
        if glob == "gpt-4o*" and free_gpt4o:
            row["free_units"] = free_gpt4o
        rows.append(row)
    rows.append({"unit_price": default})
    return rows


_IMAGE_TIERS = [
    {"up_to": 1000, "unit_price": "0.05"},
    {"up_to": 5000, "unit_price": "0.04", "flat_fee": "2.00"},
    {"unit_price": "0.03"},
]
_GPU_VOLUME = [
    {"up_to": 36000, "unit_price": "0.0012"},
    {"up_to": 360000, "unit_price": "0.0010"},
    {"unit_price": "0.0008", "flat_fee": "10.00"},
]


def _charges(
    *,
    inp: tuple[str, ...],
    outp: tuple[str, ...],
    free_gpt4o: int,
    image_model: str,
    gpu_model: str,
    req_free: int,
) -> list[dict[str, Any]]:
    gpu_prices: list[dict[str, Any]]
    if gpu_model == "per_unit":
        gpu_prices = [
            {"when": {"gpu_type": "h100*"}, "unit_price": "0.0015"},
            {"unit_price": "0.0009"},
        ]
    else:
        gpu_prices = [{"tiers": _GPU_VOLUME}]
    api_row: dict[str, Any] = {"package_size": 1000, "package_price": "0.50"}
    if req_free:
        api_row["free_units"] = req_free
    return [
        {
            "meter": "llm_input_tokens",
            "model": "per_unit",
            "price_per": 1000000,
            "prices": _token_prices(inp, "2.00", free_gpt4o),
        },
        {
            "meter": "llm_output_tokens",
            "model": "per_unit",
            "price_per": 1000000,
            "prices": _token_prices(outp, "8.00"),
        },
        {"meter": "api_requests", "model": "package", "prices": [api_row]},
        {
            "meter": "embedding_tokens",
            "model": "per_unit",
            "price_per": 1000000,
            "prices": [{"unit_price": "0.05"}],
        },
        {"meter": "images", "model": image_model, "prices": [{"tiers": _IMAGE_TIERS}]},
        {
            "meter": "audio_seconds",
            "model": "per_unit",
            "price_per": 60,
            "prices": [{"unit_price": "0.012"}],
        },
        {"meter": "gpu_seconds", "model": gpu_model, "prices": gpu_prices},
        {"meter": "resolved_tickets", "model": "per_unit", "prices": [{"unit_price": "0.99"}]},
        {"meter": "storage_gb", "model": "per_unit", "prices": [{"unit_price": "0.10"}]},
    ]


# Currencies (issue 22): one startup customer in Japan is billed in JPY on `pro_jp`, Pro v2's
# price book in yen (a plan bills in its own currency; prices set once at this book rate, not
# converted daily). Its COGS stay in USD (provider bills) and are converted with the daily rates
# of reference/fx_rates.csv for its margin.
JPY_PRICE_BOOK_RATE = Decimal("150")


def _in_yen(price: Any) -> Any:
    """A price book amount (decimal text) at JPY_PRICE_BOOK_RATE; other values unchanged."""
    if isinstance(price, str):
        return format((Decimal(price) * JPY_PRICE_BOOK_RATE).normalize(), "f")
    return price


def _yen_plan(plan: dict[str, Any]) -> dict[str, Any]:
    def walk(x: Any, key: str = "") -> Any:
        if isinstance(x, dict):
            return {k: walk(v, k) for k, v in x.items()}
        if isinstance(x, list):
            return [walk(v, key) for v in x]
        return _in_yen(x) if key in ("unit_price", "flat_fee", "package_price") else x

    out = walk(plan)
    out.update(
        code="pro_jp",
        version=1,
        name="Pro (Japan)",
        currency="JPY",
        effective_from=dt.date(2026, 1, 1),
        fee=_in_yen(plan["fee"]),
    )
    return out


def jpy_customer(scn: Scenario) -> int | None:
    """Index of the customer billed in JPY: a startup customer with no other planted role
    (contract, grant, budget, plan change, spike, late start, parent/child), the first in
    Asia/Tokyo if there is one (the default demo: yes), else the first such startup."""
    taken = {0, 1, 2, 3, scn.plan_changer, scn.spike_customer, scn.late_starter}
    taken |= {len(scn.customers) - 1, len(scn.customers) // 2 + 1}
    parents = {c.parent_customer_id for c in scn.customers if c.parent_customer_id}
    free = [
        c
        for c in scn.customers
        if c.segment == "startup"
        and c.index not in taken
        and c.index % 3  # budgets go to every third customer
        and not c.parent_customer_id
        and c.customer_id not in parents
    ]
    tokyo = [c for c in free if c.timezone == "Asia/Tokyo"]
    return (tokyo or free)[0].index if free else None


# Credit plans (issue 22): one startup customer is on `studio`, Pro v2's price book in credits
# (1 credit = 0.01 of list price: a unit_price of 2.50 is a credit_price of 250; tier flat fees
# dropped, API requests stay in money) with a monthly allowance, a rollover cap, an overage rate
# and a credit pack bought in its second month. The allowance is sized from its usage so that
# the demo shows rollover, pack draws and overage.
CREDITS_PER_MONEY = Decimal(100)


def _credit_plan(plan: dict[str, Any], allowance: Decimal) -> dict[str, Any]:
    def price(row: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in row.items() if k not in ("unit_price", "flat_fee", "tiers")}
        if "unit_price" in row:
            out["credit_price"] = format(
                (Decimal(row["unit_price"]) * CREDITS_PER_MONEY).normalize(), "f"
            )
        if "tiers" in row:
            out["tiers"] = [price(t) for t in row["tiers"]]
        return out

    charges = [
        c if c["model"] == "package" else {**c, "prices": [price(r) for r in c["prices"]]}
        for c in plan["charges"]
    ]
    return {
        "code": "studio",
        "version": 1,
        "name": "Studio (credits)",
        "currency": "USD",
        "effective_from": dt.date(2026, 1, 1),
        "fee": "149.00",
        "credits": {
            "allowance": int(allowance),
            "rollover": {"cap": int(allowance / 2)},
            "overage_rate": "0.012",
        },
        "charges": charges,
    }


def credit_customer(scn: Scenario) -> int | None:
    """Index of the customer on the credit plan: the next startup customer with no planted role
    after the JPY one (same rules as jpy_customer)."""
    jpy = jpy_customer(scn)
    taken = {0, 1, 2, 3, scn.plan_changer, scn.spike_customer, scn.late_starter, jpy}
    taken |= {len(scn.customers) - 1, len(scn.customers) // 2 + 1}
    parents = {c.parent_customer_id for c in scn.customers if c.parent_customer_id}
    free = [
        c
        for c in scn.customers
        if c.segment == "startup"
        and c.index not in taken
        and c.index % 3
        and not c.parent_customer_id
        and c.customer_id not in parents
    ]
    return free[0].index if free else None


def fx_rate(day: dt.date) -> Decimal:
    """The demo's USD->JPY rate of ``day``: a slow zig-zag between about 148 and 152 (0.1 a day)
    with 4-place noise; deterministic."""
    n = day.toordinal()
    return Decimal(150) + Decimal(abs(n % 80 - 40) - 20) / 10 + Decimal((n * 37) % 100) / 10000


def plans() -> list[dict[str, Any]]:
    """Plan versions. `pro` has two versions: a price change effective 2026-10-01; `pro_jp` is
    Pro v2 in yen."""
    usd = _usd_plans()
    pro_v2 = next(p for p in usd if p["code"] == "pro" and p["version"] == 2)
    return [*usd, _yen_plan(pro_v2)]


def _usd_plans() -> list[dict[str, Any]]:
    return [
        {
            "code": "starter",
            "version": 1,
            "name": "Starter",
            "currency": "USD",
            "effective_from": dt.date(2026, 1, 1),
            "fee": "0.00",
            "charges": _charges(
                inp=("0.30", "5.00", "0.50", "6.00", "2.00"),
                outp=("1.20", "20.00", "4.00", "30.00", "10.00"),
                free_gpt4o=0,
                image_model="graduated",
                gpu_model="per_unit",
                req_free=1000,
            ),
        },
        {
            "code": "pro",
            "version": 1,
            "name": "Pro",
            "currency": "USD",
            "effective_from": dt.date(2026, 1, 1),
            "fee": "99.00",
            "charges": _charges(
                inp=("0.25", "4.00", "0.40", "5.00", "1.60"),
                outp=("1.00", "16.00", "3.50", "24.00", "8.00"),
                free_gpt4o=1000000,
                image_model="graduated",
                gpu_model="per_unit",
                req_free=0,
            ),
        },
        {
            "code": "pro",
            "version": 2,
            "name": "Pro",
            "currency": "USD",
            "effective_from": dt.date(2026, 10, 1),
            "fee": "99.00",
            "charges": _charges(
                inp=("0.25", "4.50", "0.40", "5.50", "1.80"),
                outp=("1.00", "18.00", "3.50", "26.00", "9.00"),
                free_gpt4o=1000000,
                image_model="graduated",
                gpu_model="per_unit",
                req_free=0,
            ),
        },
        {
            "code": "scale",
            "version": 1,
            "name": "Scale",
            "currency": "USD",
            "effective_from": dt.date(2026, 1, 1),
            "fee": "499.00",
            "charges": _charges(
                inp=("0.22", "3.50", "0.35", "4.50", "1.50"),
                outp=("0.90", "14.00", "3.00", "22.00", "7.50"),
                free_gpt4o=5000000,
                image_model="volume",
                gpu_model="volume",
                req_free=0,
            ),
        },
        {
            "code": "enterprise",
            "version": 1,
            "name": "Enterprise",
            "currency": "USD",
            "effective_from": dt.date(2026, 1, 1),
            "fee": "2000.00",
            "charges": _charges(
                inp=("0.20", "3.20", "0.32", "4.20", "1.40"),
                outp=("0.80", "13.00", "2.80", "20.00", "7.00"),
                free_gpt4o=0,
                image_model="volume",
                gpu_model="volume",
                req_free=0,
            ),
        },
    ]


DEMO_ALERT_WEBHOOK = "http://127.0.0.1:8787/meterline/alerts"

# The biggest customer's strategic deal: a deep usage discount on top of a dedicated, always-on
# H100 endpoint (exports.DEDICATED_GPU_HOURS) that it uses a fraction of: its gross margin is
# planted at about zero or below (the one deliberately unprofitable customer).
TERM_DISCOUNT_PCT = "40"


def _plan_of(segment: str) -> str:
    return {"enterprise": "enterprise", "startup": "pro", "self_serve": "starter"}[segment]


def _write_reference_csv(path: Path, rows: list[dict[str, str]]) -> None:
    """Write a reference CSV with the columns, in the order, its loader's spec declares
    (orchestration/quality/reference_suites.py CSV_SPECS): one list of columns per file."""
    columns = next(spec.columns for spec in CSV_SPECS if spec.file == path.name)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(columns), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def _dump_yaml(path: Path, obj: object) -> None:
    path.write_text(
        yaml.safe_dump(obj, sort_keys=False, default_flow_style=None, width=100), encoding="utf-8"
    )


def _money(x: Decimal) -> str:
    return format(x.quantize(Decimal("0.01")), "f")


def write_reference(
    out: Path, scn: Scenario, monthly_cost: dict[str, dict[str, Decimal]]
) -> dict[str, Any]:
    """Write every reference file. ``monthly_cost``: customer -> YYYY-MM -> provider list cost
    of its billable usage (used to size commitments, budgets and credits)."""
    ref = out / "reference"
    (ref / "plans").mkdir(parents=True, exist_ok=True)
    _dump_yaml(ref / "meters.yml", {"meters": METERS})
    # who issues the invoices (orchestration/seller.py): the header of every invoice document
    _dump_yaml(
        ref / "seller.yml",
        {
            "name": "Meterline Demo AI Ltd",
            "address": ["1 Example Street", "London EC1A 1AA", "United Kingdom"],
            "email": "billing@meterline.example.com",
            "tax_id": "GB 123 4567 89",
            "payment_instructions": "Bank transfer to IBAN GB00 EXAM 0000 0000 0000 00, "
            "quoting the invoice number.",
        },
    )
    for plan in plans():
        _dump_yaml(ref / "plans" / f"{plan['code']}_v{plan['version']}.yml", plan)
    from meterline_dev.generator.pricing_lab import write_demo_scenarios

    write_demo_scenarios(ref, plans())
    _dump_yaml(
        ref / "cost_allocation.yml",
        {
            "tag_key": "customer_id",
            "rules": [
                {"match": {"ServiceCategory": "Compute"}, "driver": "gpu_seconds"},
                {"match": {"ServiceCategory": "Databases"}, "driver": "embedding_tokens"},
                {"match": {}, "driver": "requests"},
            ],
        },
    )
    cs = scn.customers
    jpy = jpy_customer(scn)
    credit = credit_customer(scn)
    credit_plan: dict[str, Any] | None = None
    if credit is not None:
        # allowance ~ 60 % of a full month's usage at list price (x 1.8 markup) in credits,
        # rounded to 1,000 credits: the full months run into packs and overage
        cost = max(monthly_cost.get(cs[credit].customer_id, {}).values(), default=Decimal(0))
        target = cost * Decimal("1.8") * CREDITS_PER_MONEY * Decimal("0.6")
        allowance = max(Decimal(1000), (target / 1000).to_integral_value() * 1000)
        pro_v2 = next(p for p in _usd_plans() if p["code"] == "pro" and p["version"] == 2)
        credit_plan = _credit_plan(pro_v2, allowance)
        _dump_yaml(ref / "plans" / "studio_v1.yml", credit_plan)
    _write_reference_csv(
        ref / "customers.csv",
        [
            {
                "customer_id": c.customer_id,
                "name": c.name,
                "currency": "JPY" if c.index == jpy else "USD",
                "timezone": c.timezone,
                "tax_rate": c.tax_rate,
                "segment": c.segment,
                "parent_customer_id": c.parent_customer_id,
                "billing_email": f"billing@{c.customer_id[4:]}.example.com",
                # enterprise customers negotiate longer terms; everyone else pays in 14 days
                "payment_terms_days": "30" if c.segment == "enterprise" else "14",
                # accounts (issue 22): the child's usage is billed on its parent's invoice
                "bill_to_parent": "true" if c.parent_customer_id else "",
            }
            for c in cs
        ],
    )
    subs: list[dict[str, str]] = []
    for c in cs:
        if c.index == scn.plan_changer:
            subs.append(
                {
                    "subscription_id": f"sub_{c.customer_id[4:]}_1",
                    "customer_id": c.customer_id,
                    "plan_code": "pro",
                    "start_date": c.start_date.isoformat(),
                    "end_date": scn.plan_change_day.isoformat(),
                }
            )
            subs.append(
                {
                    "subscription_id": f"sub_{c.customer_id[4:]}_2",
                    "customer_id": c.customer_id,
                    "plan_code": "scale",
                    "start_date": scn.plan_change_day.isoformat(),
                    "end_date": "",
                }
            )
        else:
            subs.append(
                {
                    "subscription_id": f"sub_{c.customer_id[4:]}_1",
                    "customer_id": c.customer_id,
                    "plan_code": "pro_jp"
                    if c.index == jpy
                    else "studio"
                    if c.index == credit
                    else _plan_of(c.segment),
                    "start_date": c.start_date.isoformat(),
                    "end_date": "",
                }
            )
    # grandfathering: the first Pro customer (not the plan changer) keeps Pro v1 after v2
    grandfathered = next((s for s in subs if s["plan_code"] == "pro" and s["end_date"] == ""), None)
    if grandfathered is not None:
        grandfathered["plan_version"] = "1"
    _write_reference_csv(
        ref / "subscriptions.csv",
        [{"plan_version": "", **s} for s in subs],
    )

    def full_month_cost(c_id: str) -> Decimal:
        months = monthly_cost.get(c_id, {})
        return max(months.values(), default=Decimal(0))

    last = scn.last_day
    first_month = scn.start.replace(day=1)
    monthly = cs[scn.late_starter]  # partial first month: misses its commitment there
    term = cs[0]
    renewing = cs[2] if scn.late_starter != 2 else cs[3]
    markup = Decimal("1.8")  # rough plan price / provider cost, to size commitments and budgets
    fees = {p["code"]: Decimal(p["fee"]) for p in plans()}
    contracts = [
        {
            "contract_id": "ctr_monthly_1",
            "customer_id": monthly.customer_id,
            "start_date": first_month.isoformat(),
            "end_date": (first_month.replace(year=first_month.year + 1)).isoformat(),
            "commit_amount": _money(
                fees[_plan_of(monthly.segment)]
                + max(Decimal(100), full_month_cost(monthly.customer_id) * markup * Decimal("0.7"))
            ),
            "commit_period": "month",
            "usage_discount_pct": "10",
            "renewal_notice_days": "60",
        },
        {
            "contract_id": "ctr_term_1",
            "customer_id": term.customer_id,
            "start_date": (first_month - dt.timedelta(days=62)).replace(day=1).isoformat(),
            "end_date": _add_months(first_month, 4).isoformat(),
            "commit_amount": _money(
                max(Decimal(5000), full_month_cost(term.customer_id) * markup * 8)
            ),
            "commit_period": "term",
            "usage_discount_pct": TERM_DISCOUNT_PCT,
            "renewal_notice_days": "90",
        },
        {
            "contract_id": "ctr_renewal_1",
            "customer_id": renewing.customer_id,
            "start_date": (last + dt.timedelta(days=20))
            .replace(year=(last + dt.timedelta(days=20)).year - 1)
            .isoformat(),
            "end_date": (last + dt.timedelta(days=20)).isoformat(),
            "commit_amount": "1000.00",
            "commit_period": "month",
            "usage_discount_pct": "5",
            "renewal_notice_days": "30",
        },
    ]
    _write_reference_csv(
        ref / "contracts.csv",
        contracts,
    )
    small = cs[-1]
    mid = cs[len(cs) // 2 + 1]
    expiry = (
        dt.date(2026, 10, 15)
        if scn.start < dt.date(2026, 10, 15) <= last
        else scn.start + dt.timedelta(days=scn.days // 2)
    )
    grants = [
        {
            "grant_id": "gr_paid_1",
            "customer_id": cs[1].customer_id,
            "amount": "5000.00",
            "granted_at": scn.start.isoformat(),
            "expires_at": _add_months(first_month, 12).isoformat(),
            "priority": "2",
            "kind": "paid",
        },
        {
            "grant_id": "gr_promo_1",
            "customer_id": mid.customer_id,
            "amount": "100.00",
            "granted_at": scn.start.isoformat(),
            "expires_at": "",
            "priority": "1",
            "kind": "promotional",
        },
        {
            "grant_id": "gr_promo_expiring",
            "customer_id": small.customer_id,
            "amount": _money(max(Decimal(200), full_month_cost(small.customer_id) * markup * 3)),
            "granted_at": scn.start.isoformat(),
            "expires_at": expiry.isoformat(),
            "priority": "1",
            "kind": "promotional",
        },
    ]
    # credit plans: the credit customer buys a pack of half an allowance in its second month
    packs = []
    if credit_plan is not None and credit is not None:
        pack_credits = int(credit_plan["credits"]["allowance"]) // 2
        packs.append(
            {
                "grant_id": "pack_studio_1",
                "customer_id": cs[credit].customer_id,
                "amount": str(pack_credits),
                "granted_at": _add_months(first_month, 1).replace(day=10).isoformat(),
                "expires_at": "",
                "priority": "0",
                "kind": "paid",
                "unit": "credits",
                "price_paid": _money(Decimal(pack_credits) / CREDITS_PER_MONEY * Decimal("0.9")),
            }
        )
    _write_reference_csv(
        ref / "credit_grants.csv",
        [{"unit": "money", "price_paid": "", **g} for g in grants] + packs,
    )
    budgets = []
    for i, c in enumerate(cs):
        if i % 3:
            continue
        est = full_month_cost(c.customer_id) * markup
        hard = i % 2 == 0 and c.segment != "enterprise"
        amount = est * Decimal("0.5") if hard else est * Decimal("1.5")
        budgets.append(
            {
                "customer_id": c.customer_id,
                "monthly_budget": _money(max(Decimal(10), amount)),
                "alert_thresholds_pct": "50|80|100|150|200",
                "hard_limit": "true" if hard else "false",
            }
        )
    _write_reference_csv(
        ref / "budgets.csv",
        budgets,
    )
    _write_reference_csv(ref / "provider_prices.csv", provider_price_rows(scn))
    # daily USD->JPY rates over every month of the data: provider costs (USD) are converted with
    # the rate of their day for the JPY customer's margin
    rate_days = [
        first_month + dt.timedelta(days=k) for k in range((_add_months(last, 1) - first_month).days)
    ]
    _write_reference_csv(
        ref / "fx_rates.csv",
        [
            {
                "date": d.isoformat(),
                "from_currency": "USD",
                "to_currency": "JPY",
                "rate": format(fx_rate(d), "f"),
            }
            for d in rate_days
        ],
    )
    # alert delivery: the first hard-limit customer's alerts also go to a local webhook (nothing
    # listens in the demo: the attempts fail and are retried on every run); e-mails to every
    # billing_email wait in the outbox until an SMTP server is configured
    hard = [b["customer_id"] for b in budgets if b["hard_limit"] == "true"]
    webhook = {"customer_id": hard[0], "url": DEMO_ALERT_WEBHOOK} if hard else None
    if webhook is not None:
        _dump_yaml(
            ref / "notifications.yml",
            {"customers": {webhook["customer_id"]: {"webhook_url": webhook["url"]}}},
        )
    return {
        "alert_webhook": webhook,
        "currencies": (
            {
                "customer_id": cs[jpy].customer_id,
                "currency": "JPY",
                "plan": "pro_jp",
                "cost_currency": "USD",
                "fx_rates": "reference/fx_rates.csv",
                "fx_rate_days": len(rate_days),
            }
            if jpy is not None
            else None
        ),
        "credit_plan": (
            {
                "customer_id": cs[credit].customer_id,
                "plan": "studio",
                "allowance": credit_plan["credits"]["allowance"],
                "rollover_cap": credit_plan["credits"]["rollover"]["cap"],
                "overage_rate": credit_plan["credits"]["overage_rate"],
                "packs": [p["grant_id"] for p in packs],
            }
            if credit is not None and credit_plan is not None
            else None
        ),
        "contracts": {
            "monthly_commitment": contracts[0],
            "term_commitment": contracts[1],
            "renewal_due": contracts[2],
        },
        "credit_grants": grants,
        "hard_limit_budgets": [b["customer_id"] for b in budgets if b["hard_limit"] == "true"],
        "plan_change": {
            "customer_id": cs[scn.plan_changer].customer_id,
            "from": "pro",
            "to": "scale",
            "date": scn.plan_change_day.isoformat(),
        },
        "late_starter": {
            "customer_id": cs[scn.late_starter].customer_id,
            "start_date": cs[scn.late_starter].start_date.isoformat(),
        },
        "price_change": {"plan": "pro", "version": 2, "effective_from": "2026-10-01"},
        "grandfathered": (
            {"customer_id": grandfathered["customer_id"], "plan": "pro", "version": 1}
            if grandfathered is not None
            else None
        ),
        "unprofitable_customer": {
            "customer_id": term.customer_id,
            "why": (
                f"term contract with a {TERM_DISCOUNT_PCT}% usage discount, heavy Claude usage "
                "and a dedicated always-on H100 endpoint (tagged FOCUS rows) it uses a fraction of"
            ),
            "expected_margin": "about zero or negative; every other customer positive",
        },
    }


def _add_months(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    return d.replace(year=d.year + y, month=m + 1, day=1)
