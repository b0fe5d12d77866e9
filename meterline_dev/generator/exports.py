"""Provider exports in their real formats, computed from the billable usage aggregates:
OpenAI Costs / Usage API pages, Anthropic cost_report / usage_report pages, FOCUS CSVs."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import json
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from pathlib import Path

import polars as pl

from meterline_dev.generator.jsonfmt import JsonNumber, decimal_text, dumps
from meterline_dev.generator.scenario import Scenario
from orchestration.catalog import list_prices

PAGE_DAYS = 7


def provider_price_rows(scn: Scenario) -> list[dict[str, str]]:
    """Negotiated / extra provider prices (reference/provider_prices.csv)."""
    return [
        {
            "provider": "openai",
            "model": "dall-e-3",
            "price_component": "image",
            "unit_price": "0.04",
            "price_per": "1",
            "effective_from": "2026-01-01",
            "effective_to": "",
        },
        {
            "provider": "openai",
            "model": "gpt-4o-2024-08-06",
            "price_component": "output",
            "unit_price": "8.00",
            "price_per": "1000000",
            "effective_from": scn.override_from.isoformat(),
            "effective_to": "",
        },
    ]


class PriceBook:
    """Per-unit provider price: provider_prices.csv rows first, else the catalog."""

    def __init__(self, overrides: list[dict[str, str]]) -> None:
        self.overrides = overrides

    def unit_price(self, provider: str, model: str, on: dt.date, component: str) -> Decimal:
        for row in self.overrides:
            if (row["provider"], row["model"], row["price_component"]) != (
                provider,
                model,
                component,
            ):
                continue
            start = dt.date.fromisoformat(row["effective_from"])
            end = dt.date.fromisoformat(row["effective_to"]) if row["effective_to"] else None
            if start <= on and (end is None or on < end):
                return Decimal(row["unit_price"]) / Decimal(row["price_per"])
        cat = list_prices(provider, model, on)
        if cat is None:
            raise LookupError(f"no price for {provider}/{model}/{component} on {on}")
        if component == "cache_write" and component not in cat.prices:
            component = "input"  # OpenAI: cache writes at the input price
        return cat.prices[component]


def _ts(d: dt.date) -> int:
    return int(dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC).timestamp())


def _iso(d: dt.date) -> str:
    return f"{d.isoformat()}T00:00:00Z"


def _cursor(d: dt.date) -> str:
    return "page_" + base64.b64encode(_iso(d).encode()).decode()


def _pages(days: list[dt.date]) -> list[list[dt.date]]:
    return [days[i : i + PAGE_DAYS] for i in range(0, len(days), PAGE_DAYS)]


def _write_pages(
    folder: Path, stem: str, days: list[dt.date], bucket, *, openai: bool
) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    pages = _pages(days)
    names: list[str] = []
    for i, page in enumerate(pages):
        more = i + 1 < len(pages)
        nxt = _cursor(pages[i + 1][0]) if more else None
        body: dict[str, object] = {"object": "page"} if openai else {}
        body["data"] = [bucket(d) for d in page]
        body["has_more"] = more
        body["next_page"] = nxt
        name = f"{stem}_{page[0].isoformat()}_{page[-1].isoformat()}.json"
        (folder / name).write_text(dumps(body) + "\n", encoding="utf-8")
        names.append(name)
    return names


def _rows_by_day(
    agg: pl.DataFrame, provider: str, types: tuple[str, ...]
) -> dict[dt.date, list[dict]]:
    sel = (
        agg.filter(pl.col("provider") == provider, pl.col("type").is_in(types))
        .group_by("date", "model", "type")
        .agg(pl.exclude("subject", "provider").sum())
        .sort("date", "model")
    )
    out: dict[dt.date, list[dict]] = {}
    for row in sel.iter_rows(named=True):  # one row per model-day: tiny
        out.setdefault(row["date"], []).append(row)
    return out


def write_openai(
    out: Path, scn: Scenario, agg: pl.DataFrame, book: PriceBook, days: list[dt.date]
) -> dict[str, object]:
    folder = out / "raw" / "costs" / "openai"
    chat = _rows_by_day(agg, "openai", ("llm.completion",))
    emb = _rows_by_day(agg, "openai", ("embedding",))
    other = _rows_by_day(agg, "openai", ("image.generation", "audio.transcription"))
    truth_costs: dict[str, str] = {}

    def cost_result(line_item: str, qty: Decimal, unit: str, price: Decimal) -> dict:
        amount = qty * price
        return {
            "object": "organization.costs.result",
            "amount": {"value": JsonNumber(decimal_text(amount, 12)), "currency": "usd"},
            "line_item": line_item,
            "project_id": None,
            "api_key_id": None,
            "quantity": JsonNumber(decimal_text(qty, 6)),
            "quantity_unit": unit,
        }

    def cost_bucket(d: dt.date) -> dict:
        results = []
        for r in chat.get(d, []):
            m = r["model"]
            parts = (
                (
                    "input",
                    r["input_tokens"] - r["cached_input_tokens"] - r["cache_write_tokens"],
                    "input",
                ),
                ("cached input", r["cached_input_tokens"], "cached_input"),
                ("output", r["output_tokens"], "output"),
            )
            for label, qty, comp in parts:
                if qty:
                    results.append(
                        cost_result(
                            f"{m}, {label}",
                            Decimal(qty),
                            "tokens",
                            book.unit_price("openai", m, d, comp),
                        )
                    )
        for r in emb.get(d, []):
            results.append(
                cost_result(
                    f"{r['model']}, input",
                    Decimal(r["input_tokens"]),
                    "tokens",
                    book.unit_price("openai", r["model"], d, "input"),
                )
            )
        for r in other.get(d, []):
            if r["type"] == "image.generation":
                results.append(
                    cost_result(
                        f"{r['model']}, images",
                        Decimal(r["images"]),
                        "images",
                        book.unit_price("openai", r["model"], d, "image"),
                    )
                )
            else:
                secs = Decimal(r["audio_tenths"]) / 10
                results.append(
                    cost_result(
                        f"{r['model']}, transcription",
                        secs,
                        "duration_seconds",
                        book.unit_price("openai", r["model"], d, "audio_second"),
                    )
                )
        for res in results:
            truth_costs[f"{d.isoformat()}|{res['line_item']}"] = res["amount"]["value"].text
        return {
            "object": "bucket",
            "start_time": _ts(d),
            "end_time": _ts(d + dt.timedelta(days=1)),
            "results": results,
        }

    def usage_bucket(rows_by_day: dict, kind: str):
        def bucket(d: dt.date) -> dict:
            results = []
            for r in rows_by_day.get(d, []):
                if kind == "completions":
                    uncached = (
                        r["input_tokens"] - r["cached_input_tokens"] - r["cache_write_tokens"]
                    )
                    results.append(
                        {
                            "object": "organization.usage.completions.result",
                            "input_tokens": r["input_tokens"],
                            "input_cached_tokens": r["cached_input_tokens"],
                            "input_cache_write_tokens": r["cache_write_tokens"],
                            "input_uncached_tokens": uncached,
                            "output_tokens": r["output_tokens"],
                            "num_model_requests": r["requests"],
                            "project_id": None,
                            "user_id": None,
                            "api_key_id": None,
                            "model": r["model"],
                            "batch": None,
                            "service_tier": None,
                        }
                    )
                else:
                    results.append(
                        {
                            "object": "organization.usage.embeddings.result",
                            "input_tokens": r["input_tokens"],
                            "num_model_requests": r["requests"],
                            "project_id": None,
                            "user_id": None,
                            "api_key_id": None,
                            "model": r["model"],
                        }
                    )
            return {
                "object": "bucket",
                "start_time": _ts(d),
                "end_time": _ts(d + dt.timedelta(days=1)),
                "results": results,
            }

        return bucket

    usage_days = days + [days[-1] + dt.timedelta(days=1)]  # trailing empty bucket, like the API
    files = {
        "costs": _write_pages(folder, "costs", days, cost_bucket, openai=True),
        "usage_completions": _write_pages(
            folder, "usage_completions", usage_days, usage_bucket(chat, "completions"), openai=True
        ),
        "usage_embeddings": _write_pages(
            folder, "usage_embeddings", usage_days, usage_bucket(emb, "embeddings"), openai=True
        ),
    }
    return {
        "files": files,
        "empty_bucket_date": usage_days[-1].isoformat(),
        "cost_amounts_usd": truth_costs,
    }


_ANTHROPIC_NAMES = {
    "claude-sonnet-4-5-20250929": "Claude Sonnet 4.5",
    "claude-haiku-4-5-20251001": "Claude Haiku 4.5",
}
_TOKEN_TYPES = (  # token_type, description suffix, price component
    ("uncached_input_tokens", "Input Tokens", "input"),
    ("cache_read_input_tokens", "Cache Read Input Tokens", "cached_input"),
    ("cache_creation.ephemeral_5m_input_tokens", "Cache Write Input Tokens (5m)", "cache_write"),
    ("output_tokens", "Output Tokens", "output"),
)


def write_anthropic(
    out: Path, scn: Scenario, agg: pl.DataFrame, book: PriceBook, days: list[dt.date]
) -> dict[str, object]:
    folder = out / "raw" / "costs" / "anthropic"
    chat = _rows_by_day(agg, "anthropic", ("llm.completion",))
    factor = Decimal(scn.undermetered_factor)
    truth_cents: dict[str, str] = {}
    planted: dict[str, dict[str, object]] = {}

    def reported(d: dt.date, r: dict) -> dict[str, int]:
        q = {
            "uncached_input_tokens": r["input_tokens"]
            - r["cached_input_tokens"]
            - r["cache_write_tokens"],
            "cache_read_input_tokens": r["cached_input_tokens"],
            "cache_creation.ephemeral_5m_input_tokens": r["cache_write_tokens"],
            "output_tokens": r["output_tokens"],
        }
        if r["model"] == scn.undermetered_model and d in scn.undermetered_days:
            q = {
                k: int((Decimal(v) * factor).to_integral_value(ROUND_HALF_EVEN))
                for k, v in q.items()
            }
        return q

    def cost_bucket(d: dt.date) -> dict:
        results = []
        for r in chat.get(d, []):
            q = reported(d, r)
            base = {**r, "model": ""}
            metered_q = reported(d, base)
            metered = reported_total = Decimal(0)
            display = _ANTHROPIC_NAMES.get(r["model"], r["model"])
            for token_type, suffix, comp in _TOKEN_TYPES:
                price = book.unit_price("anthropic", r["model"], d, comp)
                cents = Decimal(q[token_type]) * price * 100
                text = format(cents.quantize(Decimal("0.00001"), ROUND_HALF_EVEN), "f")
                truth_cents[f"{d.isoformat()}|{r['model']}|{token_type}"] = text
                reported_total += Decimal(text)
                metered += Decimal(metered_q[token_type]) * price * 100
                results.append(
                    {
                        "currency": "USD",
                        "amount": text,
                        "workspace_id": None,
                        "description": f"{display} Usage - {suffix}",
                        "cost_type": "tokens",
                        "context_window": "0-200k",
                        "model": r["model"],
                        "service_tier": "standard",
                        "token_type": token_type,
                    }
                )
            if r["model"] == scn.undermetered_model and d in scn.undermetered_days:
                planted[d.isoformat()] = {
                    "billed_usd": format(reported_total / 100, "f"),
                    "metered_cost_usd": format(metered / 100, "f"),
                    "metered_tokens": metered_q,
                    "reported_tokens": q,
                }
        return {
            "starting_at": _iso(d),
            "ending_at": _iso(d + dt.timedelta(days=1)),
            "results": results,
        }

    def usage_bucket(d: dt.date) -> dict:
        results = []
        for r in chat.get(d, []):
            q = reported(d, r)
            results.append(
                {
                    "uncached_input_tokens": q["uncached_input_tokens"],
                    "cache_creation": {
                        "ephemeral_1h_input_tokens": 0,
                        "ephemeral_5m_input_tokens": q["cache_creation.ephemeral_5m_input_tokens"],
                    },
                    "cache_read_input_tokens": q["cache_read_input_tokens"],
                    "output_tokens": q["output_tokens"],
                    "server_tool_use": {"web_search_requests": 0},
                    "api_key_id": None,
                    "workspace_id": None,
                    "model": r["model"],
                    "service_tier": None,
                    "context_window": None,
                }
            )
        return {
            "starting_at": _iso(d),
            "ending_at": _iso(d + dt.timedelta(days=1)),
            "results": results,
        }

    files = {
        "cost_report": _write_pages(folder, "cost_report", days, cost_bucket, openai=False),
        "usage_report_messages": _write_pages(
            folder, "usage_report_messages", days, usage_bucket, openai=False
        ),
    }
    return {"files": files, "cost_amounts_cents": truth_cents, "undermetered_billed": planted}


# ---- FOCUS ---------------------------------------------------------------------------------

FOCUS_10 = (
    "AvailabilityZone",
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "SkuId",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "Tags",
)
FOCUS_12 = (
    "AvailabilityZone",
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingAccountType",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "CapacityReservationId",
    "CapacityReservationStatus",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountQuantity",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "CommitmentDiscountUnit",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "InvoiceId",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingCurrency",
    "PricingCurrencyContractedUnitPrice",
    "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "ServiceSubcategory",
    "SkuId",
    "SkuMeter",
    "SkuPriceDetails",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "SubAccountType",
    "Tags",
)


def _focus_ts(d: dt.date) -> str:
    return f"{d.isoformat()}T00:00:00Z"


def _month_bounds(d: dt.date) -> tuple[dt.date, dt.date]:
    first = d.replace(day=1)
    nxt = (first + dt.timedelta(days=32)).replace(day=1)
    return first, nxt


def _focus_row(
    d: dt.date,
    *,
    cost: Decimal,
    qty: Decimal,
    unit: str,
    price: str,
    desc: str,
    provider: str,
    service: str,
    category: str,
    subcategory: str,
    resource: str,
    resource_type: str,
    sku: str,
    tags: dict[str, str],
    region: str,
) -> dict[str, str]:
    bp_start, bp_end = _month_bounds(d)
    c = decimal_text(cost, 10)
    return {
        "BilledCost": c,
        "EffectiveCost": c,
        "ListCost": c,
        "ContractedCost": c,
        "BillingAccountId": "100200300400",
        "BillingAccountName": "Meterline Demo AI",
        "BillingAccountType": "Billing Account",
        "BillingCurrency": "USD",
        "BillingPeriodStart": _focus_ts(bp_start),
        "BillingPeriodEnd": _focus_ts(bp_end),
        "ChargeCategory": "Usage",
        "ChargeDescription": desc,
        "ChargeFrequency": "Usage-Based",
        "ChargePeriodStart": _focus_ts(d),
        "ChargePeriodEnd": _focus_ts(d + dt.timedelta(days=1)),
        "ConsumedQuantity": decimal_text(qty, 6),
        "ConsumedUnit": unit,
        "PricingQuantity": decimal_text(qty, 6),
        "PricingUnit": unit,
        "ListUnitPrice": price,
        "ContractedUnitPrice": price,
        "PricingCategory": "Standard",
        "PricingCurrency": "USD",
        "PricingCurrencyListUnitPrice": price,
        "PricingCurrencyContractedUnitPrice": price,
        "PricingCurrencyEffectiveCost": c,
        "InvoiceIssuerName": provider,
        "ProviderName": provider,
        "PublisherName": provider,
        "RegionId": region,
        "RegionName": region,
        "ResourceId": resource,
        "ResourceName": resource,
        "ResourceType": resource_type,
        "ServiceCategory": category,
        "ServiceSubcategory": subcategory,
        "ServiceName": service,
        "SkuId": sku,
        "SkuPriceId": f"{sku}-std",
        "SkuMeter": unit,
        "SubAccountId": "acct-ml-prod",
        "SubAccountName": "ml-prod",
        "SubAccountType": "Account",
        "InvoiceId": f"INV-{provider[:3].upper()}-{d.strftime('%Y%m')}",
        "Tags": json.dumps(tags, separators=(",", ":"), sort_keys=True) if tags else "",
    }


# Shared infrastructure, sized from the usage it carried (list prices, on demand).
GPU_UTILISATION = Decimal("0.7")  # busy GPU-seconds / provisioned instance-seconds of the fleet
GPU_FLEET: tuple[tuple[str, str, str], ...] = (  # (gpu_type, instance-hour price, sku)
    ("h100", "2.99", "gpu-1x-h100-80gb"),
    ("a100", "1.79", "gpu-1x-a100-80gb"),
)
DEDICATED_GPU_HOURS = Decimal(24)  # the tagged customer's always-on H100 inference endpoint
STORAGE_PRICE = "0.023"  # per GB-month
PLATFORM_GB = 500  # model weights, logs: stored whatever the customers do
VECTOR_PRICE = "0.000016"  # per read unit
_HOUR = Decimal("0.01")


def _split_hours(hours: Decimal) -> list[Decimal]:
    """Instance-hours of a day over as few instances as can run them (<= 24 h each)."""
    if hours <= 0:
        return []
    n = int((hours / 24).to_integral_value(ROUND_CEILING))
    each = (hours / n).quantize(_HOUR, ROUND_CEILING)
    parts = [each] * (n - 1)
    return [*parts, hours - sum(parts, Decimal(0))]


def _stored_gb(scn: Scenario, days: list[dt.date], infra: pl.DataFrame) -> dict[dt.date, Decimal]:
    """Data held per day: the platform's own plus, per customer, the peak it has stored so far
    (data is kept after the snapshot)."""
    peak: dict[str, int] = {}
    by_day: dict[dt.date, list[tuple[str, int]]] = {}
    rows = infra.filter(pl.col("gb_milli").is_not_null()).select("date", "subject", "gb_milli")
    for d, subject, gb_milli in rows.iter_rows():  # customers x days: small
        by_day.setdefault(d, []).append((subject, gb_milli))
    out: dict[dt.date, Decimal] = {}
    for d in days:
        for subject, gb_milli in by_day.get(d, []):
            peak[subject] = max(peak.get(subject, 0), gb_milli)
        out[d] = PLATFORM_GB + Decimal(sum(peak.values())) / 1000
    return out


def write_focus(
    out: Path, scn: Scenario, days: list[dt.date], infra: pl.DataFrame
) -> dict[str, object]:
    """GPU instances + object storage (vendor `cloudgpu`, FOCUS 1.0) and a vector database
    (`pinecone`, FOCUS 1.2), sized from the usage they carried. ``infra``: per UTC date x
    customer, ``h100_millis``, ``a100_millis`` (GPU time of the jobs) and ``gb_milli`` (peak
    stored). The shared fleet runs GPU time / GPU_UTILISATION instance-hours a day per GPU type
    (rows of <= 24 h, one per instance). Tagged rows: customers[0]'s dedicated always-on H100
    endpoint and customers[3]'s dedicated vector index."""
    folder = out / "raw" / "costs" / "focus"
    folder.mkdir(parents=True, exist_ok=True)
    tagged = scn.customers[0].customer_id
    tagged2 = scn.customers[min(3, len(scn.customers) - 1)].customer_id
    gpu_ms = {
        r["date"]: r
        for r in infra.group_by("date")
        .agg(pl.col("h100_millis", "a100_millis").sum())
        .iter_rows(named=True)
    }
    stored = _stored_gb(scn, days, infra)
    months: dict[str, list[dt.date]] = {}
    for d in days:
        months.setdefault(d.strftime("%Y-%m"), []).append(d)
    files: list[str] = []
    tagged_rows = 0
    totals: dict[str, dict[str, Decimal]] = {}
    for month, mdays in months.items():
        gpu_rows: list[dict[str, str]] = []
        vec_rows: list[dict[str, str]] = []
        total = totals.setdefault(
            month,
            {
                "gpu_busy_hours": Decimal(0),
                "gpu_instance_hours": Decimal(0),
                "compute_usd": Decimal(0),
                "storage_usd": Decimal(0),
                "databases_usd": Decimal(0),
                "tagged_usd": Decimal(0),
            },
        )
        for d in mdays:
            instances: list[tuple[str, Decimal, str, str, dict[str, str]]] = [
                (
                    "i-0gpu-dedicated-h100",
                    DEDICATED_GPU_HOURS,
                    "2.99",
                    "gpu-1x-h100-80gb",
                    {"customer_id": tagged},
                )
            ]
            for gpu, price, sku in GPU_FLEET:
                busy = Decimal(int(gpu_ms.get(d, {}).get(f"{gpu}_millis") or 0)) / 3_600_000
                total["gpu_busy_hours"] += busy
                hours = (busy / GPU_UTILISATION).quantize(_HOUR, ROUND_CEILING)
                tags = {"team": "inference"} if gpu == "h100" else {}
                for k, h in enumerate(_split_hours(hours), start=1):
                    instances.append((f"i-0gpu-{gpu}-{k:03d}", h, price, sku, tags))
            for res, hours, price, sku, tags in instances:
                cost = hours * Decimal(price)
                total["gpu_instance_hours"] += hours
                total["compute_usd"] += cost
                gpu_rows.append(
                    _focus_row(
                        d,
                        cost=cost,
                        qty=hours,
                        unit="Hours",
                        price=price,
                        desc=f"${price} per On Demand {sku} Instance Hour",
                        provider="CloudGPU",
                        service="Elastic Compute",
                        category="Compute",
                        subcategory="Virtual Machines",
                        resource=res,
                        resource_type="Virtual Machine",
                        sku=sku,
                        tags=tags,
                        region="us-east-1",
                    )
                )
                if "customer_id" in tags:
                    tagged_rows += 1
                    total["tagged_usd"] += cost
            first, nxt = _month_bounds(d)
            gb_months = (stored[d] / (nxt - first).days).quantize(Decimal("0.000001"))
            cost = gb_months * Decimal(STORAGE_PRICE)
            total["storage_usd"] += cost
            gpu_rows.append(
                _focus_row(
                    d,
                    cost=cost,
                    qty=gb_months,
                    unit="GB-Months",
                    price=STORAGE_PRICE,
                    desc=f"${STORAGE_PRICE} per GB-Month of storage used",
                    provider="CloudGPU",
                    service="Object Storage",
                    category="Storage",
                    subcategory="Object Storage",
                    resource="bucket-embeddings-prod",
                    resource_type="Bucket",
                    sku="storage-std",
                    tags={"team": "platform"},
                    region="us-east-1",
                )
            )
            for res, units, tags in (
                ("index-shared", Decimal(300_000 + 2000 * d.day), {}),
                ("index-dedicated", Decimal(60_000), {"customer_id": tagged2}),
            ):
                cost = units * Decimal(VECTOR_PRICE)
                total["databases_usd"] += cost
                vec_rows.append(
                    _focus_row(
                        d,
                        cost=cost,
                        qty=units,
                        unit="Read Units",
                        price=VECTOR_PRICE,
                        desc="Serverless read units",
                        provider="Pinecone",
                        service="Pinecone Serverless",
                        category="Databases",
                        subcategory="Other (Databases)",
                        resource=res,
                        resource_type="Index",
                        sku="serverless-read",
                        tags=tags,
                        region="aws-us-east-1",
                    )
                )
                if "customer_id" in tags:
                    tagged_rows += 1
                    total["tagged_usd"] += cost
        for vendor, cols, rows in (
            ("cloudgpu", FOCUS_10, gpu_rows),
            ("pinecone", FOCUS_12, vec_rows),
        ):
            name = f"{vendor}_{month}.csv"
            with (folder / name).open("w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh, lineterminator="\n")
                w.writerow(cols)
                for r in rows:
                    w.writerow([r.get(c, "") for c in cols])
            files.append(name)
    return {
        "files": files,
        "versions": {"cloudgpu": "1.0", "pinecone": "1.2"},
        "tagged_rows": tagged_rows,
        "tagged_customers": [tagged, tagged2],
        "gpu_utilisation": str(GPU_UTILISATION),
        "gpu_instance_hour_usd": {gpu: price for gpu, price, _ in GPU_FLEET},
        "dedicated_gpu_hours_per_day": str(DEDICATED_GPU_HOURS),
        "monthly": {
            m: {k: format(v.quantize(Decimal("0.000001")), "f") for k, v in t.items()}
            for m, t in totals.items()
        },
    }
