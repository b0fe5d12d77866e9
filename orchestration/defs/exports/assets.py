"""Exports: the invoice CSVs of closed periods (re-rendered from the ledger, so a close that was
interrupted after its ledger commit gets its files; unchanged files are not rewritten), the weekly
usage summaries (Markdown), and the published read-only snapshot, the last asset of the graph."""

from collections.abc import Sequence

import dagster as dg

from orchestration.defs.resources import DUCKDB_WRITER_POOL, MeterlineResource

INVOICE_EXPORTS_KEY = dg.AssetKey(["exports", "invoice_csvs"])
WEEKLY_SUMMARIES_KEY = dg.AssetKey(["exports", "weekly_summaries"])
PUBLISHED_KEY = dg.AssetKey(["exports", "published_warehouse"])


def build_export_assets(upstream: Sequence[dg.AssetKey]) -> list[dg.AssetsDefinition]:
    """The export assets, downstream of every key in ``upstream`` (the whole graph)."""

    @dg.asset(
        key=INVOICE_EXPORTS_KEY,
        deps=list(upstream),
        group_name="exports",
        pool=DUCKDB_WRITER_POOL,
        kinds={"csv"},
        description="exports/invoices/<YYYY-MM>/ of every closed period, from the ledger.",
    )
    def invoice_csvs(meterline: MeterlineResource) -> dg.MaterializeResult:
        from orchestration.exports import clean_stale_temp, closed_periods, export_period
        from orchestration.warehouse import connect

        s = meterline.settings()
        clean_stale_temp(s)
        written: list[str] = []
        with connect(s.warehouse, read_only=True) as con:
            periods = closed_periods(con)
            for period in periods:
                result = export_period(s, con, period)
                written += [f"{period}/{name}" for name in result.written]
        return dg.MaterializeResult(
            metadata={"periods": ", ".join(periods), "files_written": len(written)}
        )

    @dg.asset(
        key=WEEKLY_SUMMARIES_KEY,
        deps=list(upstream),
        group_name="exports",
        pool=DUCKDB_WRITER_POOL,
        kinds={"markdown"},
        description="exports/summaries/<YYYY-Www>/<customer_id>.md for the latest complete "
        "ISO week, from marts.fct_weekly_usage_summary.",
    )
    def weekly_summaries(meterline: MeterlineResource) -> dg.MaterializeResult:
        from orchestration.summaries import write_weekly_summaries

        paths = write_weekly_summaries(meterline.settings())
        weeks = sorted({p.parent.name for p in paths})
        return dg.MaterializeResult(
            metadata={"weeks": ", ".join(weeks), "files_written": len(paths)}
        )

    @dg.asset(
        key=PUBLISHED_KEY,
        deps=[*upstream, INVOICE_EXPORTS_KEY, WEEKLY_SUMMARIES_KEY],
        group_name="exports",
        pool=DUCKDB_WRITER_POOL,
        kinds={"duckdb"},
        description="Read-only snapshot for the dashboard and analysts, replaced "
        "atomically after a successful run (blocking checks passed).",
    )
    def published_warehouse(meterline: MeterlineResource) -> dg.MaterializeResult:
        from orchestration.publish import publish

        result = publish(meterline.settings())
        return dg.MaterializeResult(
            metadata={"path": str(result.path), "bytes": result.bytes, "seconds": result.seconds}
        )

    return [invoice_csvs, weekly_summaries, published_warehouse]
