"""Provider list prices from a maintained catalog (pydantic's ``genai-prices``).

Each distinct (provider, model) is resolved once, at a date, to per-unit USD prices per price
component. Prices are ``Decimal`` per single unit (token, second, character, request), exact:
the catalog quotes per million tokens / per hour / per thousand, and we divide in Decimal.

Components (the names the SQL joins on):

- ``input``            uncached input tokens
- ``cached_input``     input tokens read from cache
- ``cache_write``      input tokens written to cache (Anthropic 5-minute write)
- ``cache_write_1h``   input tokens written to the 1-hour cache (Anthropic)
- ``output``           output tokens (reasoning included)
- ``audio_second``     seconds of audio (transcription)
- ``character``        characters (text-to-speech)
- ``web_search``       one web-search request

Tiered catalog prices (e.g. long-context surcharges above 200K input tokens per request) resolve
to their base tier: meterline's events are priced per request below the threshold; the tier
table is kept out of the resolved price on purpose and noted in the returned ``notes``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

COMPONENTS: tuple[str, ...] = (
    "input",
    "cached_input",
    "cache_write",
    "cache_write_1h",
    "output",
    "audio_second",
    "character",
    "web_search",
)

# catalog attribute -> (component, divisor to get the price of one unit)
_CATALOG_FIELDS: dict[str, tuple[str, Decimal]] = {
    "input_mtok": ("input", Decimal(1_000_000)),
    "cache_read_mtok": ("cached_input", Decimal(1_000_000)),
    "cache_write_mtok": ("cache_write", Decimal(1_000_000)),
    "cache_write_1h_mtok": ("cache_write_1h", Decimal(1_000_000)),
    "output_mtok": ("output", Decimal(1_000_000)),
    "audio_hours": ("audio_second", Decimal(3600)),
    "input_mchars": ("character", Decimal(1_000_000)),
    "web_searches_kcount": ("web_search", Decimal(1000)),
}


@dataclass(frozen=True)
class CatalogPrice:
    provider: str
    model: str  # the model name as asked for (e.g. a dated snapshot)
    catalog_model_id: str  # the catalog's id it resolved to
    prices: dict[str, Decimal] = field(default_factory=dict)  # component -> USD per unit
    notes: str = ""


@lru_cache(maxsize=4096)
def list_prices(provider: str, model: str, on: dt.date) -> CatalogPrice | None:
    """Resolve (provider, model) at date ``on`` to per-unit prices, or None if unknown.

    Unknown models return None: callers report them, never cost them at 0.
    """
    from genai_prices import Usage, calc_price

    when = dt.datetime(on.year, on.month, on.day, tzinfo=dt.UTC)
    try:
        result = calc_price(
            Usage(input_tokens=0, output_tokens=0),
            model_ref=model,
            provider_id=provider,
            genai_request_timestamp=when,
        )
    except Exception:  # the catalog raises LookupError-like errors for unknown models
        return None
    prices: dict[str, Decimal] = {}
    notes: list[str] = []
    for attr, (component, divisor) in _CATALOG_FIELDS.items():
        value = getattr(result.model_price, attr, None)
        if value is None:
            continue
        base = getattr(value, "base", value)  # TieredPrices -> base tier
        if base is not value:
            notes.append(f"{attr} tiered; base tier used")
        prices[component] = Decimal(base) / divisor
    return CatalogPrice(
        provider=provider,
        model=model,
        catalog_model_id=result.model.id,
        prices=prices,
        notes="; ".join(notes),
    )
