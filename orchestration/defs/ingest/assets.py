"""Ingest assets: one multi-asset per kind of input file. Asset keys are the dbt source keys
(``["raw", <table>]``, dagster-dbt's default for ``source('raw', <table>)``), so the ingest
assets and the dbt models form one lineage graph.

``raw.load_manifest`` and ``raw.quarantine`` are written by every loader; they are complete once
all loaders ran, so the ``ingest_audit`` asset owns them: it depends on every loader and reports
the batch totals of the run.
"""

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import dagster as dg

from orchestration.defs.resources import DUCKDB_WRITER_POOL, MeterlineResource

INGEST_GROUP = "ingest"

REFERENCE_TABLES: tuple[str, ...] = (
    "customers",
    "subscriptions",
    "contracts",
    "credit_grants",
    "budgets",
    "provider_prices",
    "fx_rates",
    "meters",
    "plans",
    "plan_charges",
    "plan_prices",
    "plan_price_tiers",
    "plan_credits",
    "cost_allocation_rules",
)
USAGE_TABLES: tuple[str, ...] = ("usage_events", "usage_conflicts")
PROVIDER_TABLES: dict[str, tuple[str, ...]] = {
    "openai": ("openai_costs", "openai_usage"),
    "anthropic": ("anthropic_costs", "anthropic_usage"),
    "focus": ("focus_costs",),
}
AUDIT_TABLES: tuple[str, ...] = ("load_manifest", "quarantine")


def raw_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", table])


def _specs(
    tables: Iterable[str], description: str, deps: Sequence[dg.AssetKey] = ()
) -> list[dg.AssetSpec]:
    return [
        dg.AssetSpec(
            raw_key(t),
            description=f"{description} (raw.{t})",
            deps=list(deps),
            group_name=INGEST_GROUP,
            kinds={"duckdb"},
        )
        for t in tables
    ]


def _file_loads(result: Any) -> list[Any]:
    """The FileLoad records of an ingest call (a list, or an object with a ``loads`` list)."""
    if result is None:
        return []
    if isinstance(result, list | tuple):
        return list(result)
    loads = getattr(result, "loads", None)
    return list(loads) if loads is not None else []


def load_metadata(result: Any) -> dict[str, Any]:
    """Totals over the files of one ingest call, as asset metadata."""
    loads = _file_loads(result)
    fields = ("raw_rows", "loaded_rows", "duplicate_rows", "quarantined_rows", "conflict_rows")
    meta: dict[str, Any] = {
        "files_loaded": sum(1 for f in loads if not getattr(f, "skipped", False)),
        "files_skipped": sum(1 for f in loads if getattr(f, "skipped", False)),
    }
    for name in fields:
        meta[name] = sum(int(getattr(f, name, 0) or 0) for f in loads)
    return meta


def _results(tables: Sequence[str], meta: dict[str, Any]) -> Iterator[dg.MaterializeResult]:
    for t in tables:
        yield dg.MaterializeResult(asset_key=raw_key(t), metadata=meta)


@dg.multi_asset(
    name="ingest_reference",
    specs=_specs(REFERENCE_TABLES, "Reference file, validated then replaced as a whole"),
    pool=DUCKDB_WRITER_POOL,
)
def ingest_reference_files(meterline: MeterlineResource) -> Iterator[dg.MaterializeResult]:
    """Validate and load reference/*; an invalid file raises ReferenceDataError (run stops)."""
    from orchestration.ingest import ingest_reference

    yield from _results(REFERENCE_TABLES, load_metadata(ingest_reference(meterline.settings())))


@dg.multi_asset(
    name="ingest_usage",
    specs=_specs(
        USAGE_TABLES, "Usage events from raw/usage/", deps=[raw_key("customers"), raw_key("meters")]
    ),
    pool=DUCKDB_WRITER_POOL,
)
def ingest_usage_files(meterline: MeterlineResource) -> Iterator[dg.MaterializeResult]:
    """Load new usage batches; bad rows to quarantine, repeats marked, conflicts recorded."""
    from orchestration.ingest import ingest_usage

    yield from _results(USAGE_TABLES, load_metadata(ingest_usage(meterline.settings())))


def _provider_asset(provider: str, tables: tuple[str, ...]) -> dg.AssetsDefinition:
    @dg.multi_asset(
        name=f"ingest_{provider}",
        specs=_specs(tables, f"Provider export from raw/costs/{provider}/"),
        pool=DUCKDB_WRITER_POOL,
    )
    def _ingest(meterline: MeterlineResource) -> Iterator[dg.MaterializeResult]:
        from orchestration.ingest import ingest_provider

        yield from _results(tables, load_metadata(ingest_provider(meterline.settings(), provider)))

    return _ingest


PROVIDER_ASSETS: list[dg.AssetsDefinition] = [
    _provider_asset(p, tables) for p, tables in PROVIDER_TABLES.items()
]

LOADER_TABLES: tuple[str, ...] = (
    REFERENCE_TABLES + USAGE_TABLES + tuple(t for ts in PROVIDER_TABLES.values() for t in ts)
)


@dg.multi_asset(
    name="ingest_audit",
    specs=_specs(
        AUDIT_TABLES,
        "Written by every loader; complete once all loaders ran",
        deps=[raw_key(t) for t in LOADER_TABLES],
    ),
    pool=DUCKDB_WRITER_POOL,
)
def ingest_audit(meterline: MeterlineResource) -> Iterator[dg.MaterializeResult]:
    """Totals of raw.load_manifest and raw.quarantine after the loads (read only)."""
    from orchestration.warehouse import connect

    s = meterline.settings()
    with connect(s.warehouse, read_only=True) as con:
        files, raw_rows, quarantined = con.execute(
            "select count(*), coalesce(sum(raw_rows), 0), coalesce(sum(quarantined_rows), 0) "
            "from raw.load_manifest"
        ).fetchone() or (0, 0, 0)
        q_rows = (con.execute("select count(*) from raw.quarantine").fetchone() or (0,))[0]
    meta = {
        "files": int(files),
        "raw_rows": int(raw_rows),
        "manifest_quarantined_rows": int(quarantined),
        "quarantine_rows": int(q_rows),
    }
    yield from _results(AUDIT_TABLES, meta)


INGEST_ASSETS: list[dg.AssetsDefinition] = [
    ingest_reference_files,
    ingest_usage_files,
    *PROVIDER_ASSETS,
    ingest_audit,
]
