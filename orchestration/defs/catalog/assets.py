"""Provider list prices from the catalog library, resolved after ingestion and before dbt."""

from collections.abc import Iterator

import dagster as dg

from orchestration.defs.ingest.assets import raw_key
from orchestration.defs.resources import DUCKDB_WRITER_POOL, MeterlineResource

CATALOG_TABLES: tuple[str, ...] = ("catalog_prices", "catalog_unknown_models")


@dg.multi_asset(
    name="resolve_catalog_prices",
    specs=[
        dg.AssetSpec(
            raw_key(t),
            group_name="catalog",
            kinds={"duckdb"},
            # after ingestion as a whole (raw.load_manifest is complete once every loader ran),
            # so the blocking checks of the raw layer gate everything built from it
            deps=[
                raw_key("load_manifest"),
                raw_key("usage_events"),
                raw_key("provider_prices"),
                raw_key("openai_usage"),
                raw_key("anthropic_usage"),
            ],
            description=f"raw.{t}: catalog (genai-prices) list prices per provider model",
        )
        for t in CATALOG_TABLES
    ],
    pool=DUCKDB_WRITER_POOL,
)
def catalog_prices(meterline: MeterlineResource) -> Iterator[dg.MaterializeResult]:
    from orchestration.costs.catalog_prices import resolve_catalog_prices

    result = resolve_catalog_prices(meterline.settings())
    meta = {"result": str(result)[:500]} if result is not None else {}
    for t in CATALOG_TABLES:
        yield dg.MaterializeResult(asset_key=raw_key(t), metadata=meta)


CATALOG_ASSETS: list[dg.AssetsDefinition] = [catalog_prices]
