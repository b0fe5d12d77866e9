"""The catalog step: resolve every distinct (provider, model) seen in the warehouse to list prices.

Reads the distinct (provider, model) pairs, with their first and last usage dates, from
``raw.usage_events`` (non-duplicate rows), the provider usage tables and the provider cost tables;
resolves each pair ONCE through :func:`orchestration.catalog.list_prices` at its first date, then
again at each later month start up to its last date, keeping a new version only when a price
differs. Replaces ``raw.catalog_prices`` (one row per provider, model, component, effective_from)
and ``raw.catalog_unknown_models`` (pairs the catalog does not know: reported, never costed at 0).

Deterministic: nothing written depends on the wall clock; ``resolved_for`` is the date asked.
Python loops run over distinct models (tens of rows), never over events.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import duckdb

from orchestration.catalog import CatalogPrice, list_prices
from orchestration.config import Settings
from orchestration.warehouse import connect, ensure_schema

PriceLookup = Callable[[str, str, dt.date], CatalogPrice | None]

# (provider, model, first_seen, last_seen) from every source that names a model. Model names of
# OpenAI cost line items are the text before the first comma ("gpt-4o-2024-08-06, input").
_SEEN_MODELS_SQL = """
with seen as (
    select lower(trim(provider)) as provider, trim(model) as model,
           cast(event_time as date) as seen_on
    from raw.usage_events
    where not is_duplicate and provider is not null and nullif(trim(model), '') is not null
    union all
    select 'openai', trim(model), cast(bucket_start as date)
    from raw.openai_usage where nullif(trim(model), '') is not null
    union all
    select 'anthropic', trim(model), cast(bucket_start as date)
    from raw.anthropic_usage where nullif(trim(model), '') is not null
    union all
    select 'openai', trim(split_part(line_item, ',', 1)), cast(bucket_start as date)
    from raw.openai_costs where nullif(trim(split_part(line_item, ',', 1)), '') is not null
    union all
    select 'anthropic', trim(model), cast(bucket_start as date)
    from raw.anthropic_costs where nullif(trim(model), '') is not null
)
select provider, model, min(seen_on) as first_seen, max(seen_on) as last_seen
from seen
where provider <> ''
group by provider, model
order by provider, model
"""


@dataclass(frozen=True)
class CatalogResult:
    """What the catalog step wrote."""

    models_seen: int
    models_resolved: int
    price_rows: int
    unknown_models: list[tuple[str, str]] = field(default_factory=list)

    def __str__(self) -> str:
        unknown = ", ".join(f"{p}/{m}" for p, m in self.unknown_models) or "none"
        return (
            f"catalog: {self.models_seen} models seen, {self.models_resolved} resolved, "
            f"{self.price_rows} price rows; unknown: {unknown}"
        )


def month_starts_after(first: dt.date, last: dt.date) -> list[dt.date]:
    """First days of the months after ``first``'s month, up to and including ``last``."""
    out: list[dt.date] = []
    year, month = first.year, first.month
    while True:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        day = dt.date(year, month, 1)
        if day > last:
            return out
        out.append(day)


def price_versions(
    provider: str, model: str, first: dt.date, last: dt.date, lookup: PriceLookup = list_prices
) -> list[tuple[dt.date, CatalogPrice]]:
    """Price versions of one model over [first, last]: the first date's, then each later month
    start whose prices differ from the version before. Empty when the catalog does not know it."""
    initial = lookup(provider, model, first)
    if initial is None:
        return []
    versions = [(first, initial)]
    for day in month_starts_after(first, last):
        current = lookup(provider, model, day)
        if current is not None and current.prices != versions[-1][1].prices:
            versions.append((day, current))
    return versions


def _price_rows(
    provider: str, model: str, versions: list[tuple[dt.date, CatalogPrice]]
) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for day, price in versions:
        for component in sorted(price.prices):
            unit_price: Decimal = price.prices[component]
            rows.append(
                (
                    provider,
                    model,
                    price.catalog_model_id,
                    component,
                    unit_price,
                    day,
                    day,
                    price.notes or None,
                )
            )
    return rows


def resolve_into(
    con: duckdb.DuckDBPyConnection, lookup: PriceLookup = list_prices
) -> CatalogResult:
    """Resolve and replace the catalog tables on an open connection (one transaction)."""
    ensure_schema(con)
    seen = con.execute(_SEEN_MODELS_SQL).fetchall()
    price_rows: list[tuple[object, ...]] = []
    unknown: list[tuple[str, str, dt.date, dt.date]] = []
    for provider, model, first, last in seen:
        versions = price_versions(provider, model, first, last, lookup)
        if versions:
            price_rows.extend(_price_rows(provider, model, versions))
        else:
            unknown.append((provider, model, first, last))
    con.execute("begin transaction")
    try:
        con.execute("delete from raw.catalog_prices")
        con.execute("delete from raw.catalog_unknown_models")
        if price_rows:
            con.executemany(
                "insert into raw.catalog_prices (provider, model, catalog_model_id, "
                "price_component, unit_price, effective_from, resolved_for, notes) "
                "values (?, ?, ?, ?, cast(? as decimal(38,18)), ?, ?, ?)",
                [(*r[:4], format(r[4], "f"), *r[5:]) for r in price_rows],
            )
        if unknown:
            con.executemany(
                "insert into raw.catalog_unknown_models (provider, model, first_seen, last_seen) "
                "values (?, ?, ?, ?)",
                unknown,
            )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return CatalogResult(
        models_seen=len(seen),
        models_resolved=len(seen) - len(unknown),
        price_rows=len(price_rows),
        unknown_models=[(p, m) for p, m, _, _ in unknown],
    )


def resolve_catalog_prices(s: Settings) -> CatalogResult:
    """The catalog step: resolve list prices for the warehouse of ``s`` (opens and closes its
    own connection; call it between ingestion and dbt, never while dbt runs)."""
    with connect(s.warehouse) as con:
        return resolve_into(con)
