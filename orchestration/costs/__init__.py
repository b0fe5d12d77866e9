"""Provider costs: the catalog step that resolves provider list prices for the SQL to join on."""

from orchestration.costs.catalog_prices import CatalogResult, resolve_catalog_prices

__all__ = ["CatalogResult", "resolve_catalog_prices"]
