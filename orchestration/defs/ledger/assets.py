"""The ledger of issued money as an asset of the graph (issues 16, 17).

The ``ledger`` schema (period closes, issued invoices and their lines, the credit burns they
applied, the hash of each issued invoice, issued credit notes) is append-only and written only by
a period close. Its six tables are one multi-asset whose keys are the dbt source keys
(``["ledger", <table>]``), so the lineage shows ledger -> ``stg_ledger__*`` -> marts.

Materializing it *is* closing a period (``orchestration.close``): ``meterline close``, the
``close_period`` job and the monthly schedule all run this asset with a :class:`CloseConfig`. The
``meterline run`` job never selects it: a run re-rates drafts, only a close issues money.

The close reads the draft invoices of the marts (``fct_invoices``, ``fct_invoice_lines``,
``fct_credit_ledger``); those reads are not declared as dependencies because the marts are built
from the ledger (an issued period is never recomputed), and an asset graph has no cycles."""

import datetime as dt
from collections.abc import Iterator

import dagster as dg

from orchestration.defs.resources import DUCKDB_WRITER_POOL, MeterlineResource

LEDGER_GROUP = "ledger"
LEDGER_TABLES: tuple[str, ...] = (
    "period_closes",
    "issued_invoices",
    "issued_invoice_lines",
    "issued_credit_burns",
    "issued_invoice_hashes",
    "issued_credit_notes",
)
LEDGER_KEYS: tuple[dg.AssetKey, ...] = tuple(dg.AssetKey(["ledger", t]) for t in LEDGER_TABLES)
CLOSE_JOB_NAME = "close_period"


class CloseConfig(dg.Config):
    """One close: ``period`` (YYYY-MM); ``through``: close every earlier open period first, in
    order; ``exclude``: customers left as drafts; ``force``: skip the grace-period check;
    ``issued_at``: the issue time to record (ISO, UTC; default the end of the grace period)."""

    period: str
    through: bool = False
    exclude: list[str] = []
    force: bool = False
    issued_at: str | None = None


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            key,
            group_name=LEDGER_GROUP,
            kinds={"duckdb"},
            description=f"ledger.{key.path[-1]}: issued money, append-only, written by a close.",
        )
        for key in LEDGER_KEYS
    ],
    name="ledger",
    pool=DUCKDB_WRITER_POOL,
)
def ledger(
    context: dg.AssetExecutionContext, config: CloseConfig, meterline: MeterlineResource
) -> Iterator[dg.MaterializeResult]:
    """Close ``config.period``: number and freeze its invoices, record them in the ledger,
    export the invoice documents. A refused close fails the run with the reason."""
    from orchestration.close import CloseRefused, close_period_result

    s = meterline.settings()
    as_of = dt.datetime.fromisoformat(config.issued_at) if config.issued_at else None
    try:
        result = close_period_result(
            s,
            config.period,
            list(config.exclude),
            force=config.force,
            as_of=as_of,
            through=config.through,
        )
    except CloseRefused as refused:
        raise dg.Failure(
            description=f"refused to close {config.period}: {refused}",
            metadata={"period": config.period},
            allow_retries=False,
        ) from refused
    context.log.info(result.message)
    closed = [*(r.period for r in result.earlier), result.period]
    issued = sum(len(r.invoice_numbers) for r in [*result.earlier, result])
    for key in LEDGER_KEYS:
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                "periods_closed": ", ".join(closed),
                "invoices_issued": issued,
                "already_closed": result.already_closed,
                "message": result.message,
            },
        )


LEDGER_ASSETS = [ledger]
close_period_job = dg.define_asset_job(
    name=CLOSE_JOB_NAME,
    selection=dg.AssetSelection.groups(LEDGER_GROUP),
    description="Close a billing period: number and freeze its invoices in the ledger, export.",
)
