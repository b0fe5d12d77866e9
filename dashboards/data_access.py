"""Every query of the finance dashboard, and nothing else.

The dashboard reads the *published* snapshot only (``Settings.published_warehouse``), which
``meterline run`` replaces atomically after its checks pass. Rules:

- a read-only DuckDB connection is opened per query and closed right after; never cached;
- every query is parameterized (``$name`` parameters; identifiers only from fixed whitelists);
- query functions are cached with ``st.cache_data(ttl=TTL_SECONDS)`` and take the ``Snapshot``
  as their first argument: its token changes when a new snapshot is published, so a rebuild is
  visible at once and two warehouses never share a cache entry;
- failures become ``DashboardDataError`` subclasses with a message for people (no traceback):
  the file is missing, it is being replaced (retried once first), or a mart is not built yet.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import polars as pl
import streamlit as st

from orchestration.config import settings

TTL_SECONDS = 60
RETRY_DELAY_SECONDS = 0.5
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")
_PERIOD = re.compile(r"^\d{4}-\d{2}$")


class DashboardDataError(Exception):
    """A problem to show to the user as a message, not a traceback."""


class WarehouseMissing(DashboardDataError):
    def __init__(self, path: Path | str) -> None:
        super().__init__(
            "No published warehouse yet: run `meterline run` first (it builds the warehouse "
            f"and publishes the snapshot this dashboard reads, `{path}`)."
        )


class WarehouseBusy(DashboardDataError):
    def __init__(self, path: Path | str, detail: str) -> None:
        super().__init__(
            f"The published warehouse `{path}` is being refreshed right now; "
            f"reload the page in a few seconds. ({detail.splitlines()[0]})"
        )


class MartMissing(DashboardDataError):
    def __init__(self, tables: tuple[str, ...]) -> None:
        self.tables = tables
        names = ", ".join(f"`{t}`" for t in tables)
        super().__init__(f"Not available yet: {names} is not built in this warehouse.")


class MartIncompatible(DashboardDataError):
    def __init__(self, tables: tuple[str, ...], detail: str) -> None:
        self.tables = tables
        names = ", ".join(f"`{t}`" for t in tables)
        super().__init__(
            f"Not available yet: {names} does not have the columns this page reads "
            f"({detail.splitlines()[0]})."
        )


class Snapshot(NamedTuple):
    """Which published file to read, and a token of its current version (the cache key)."""

    path: str
    token: str


def published_path() -> Path:
    return settings().published_warehouse


def data_dir() -> Path:
    return settings().data_dir


def snapshot(path: Path | None = None) -> Snapshot:
    """The current snapshot; raises ``WarehouseMissing`` when there is none."""
    target = path or published_path()
    try:
        stat = target.stat()
    except FileNotFoundError as exc:
        raise WarehouseMissing(target) from exc
    return Snapshot(str(target), f"{stat.st_ino}:{stat.st_mtime_ns}:{stat.st_size}")


def _existing(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.sql(
        "select table_schema || '.' || table_name from information_schema.tables"
    ).fetchall()
    return {r[0] for r in rows}


def run_query(
    snap: Snapshot, sql: str, params: dict[str, Any] | None = None, needs: tuple[str, ...] = ()
) -> pl.DataFrame:
    """Run one query on a fresh read-only connection. ``needs`` names the tables the query reads
    (``schema.table``): if one is absent, ``MartMissing`` says which."""
    for attempt in (1, 2):
        if not Path(snap.path).exists():
            raise WarehouseMissing(snap.path)
        try:
            con = duckdb.connect(snap.path, read_only=True)
        except duckdb.Error as exc:
            if attempt == 1:
                time.sleep(RETRY_DELAY_SECONDS)
                continue
            if not Path(snap.path).exists():
                raise WarehouseMissing(snap.path) from exc
            raise WarehouseBusy(snap.path, str(exc)) from exc
        try:
            missing = tuple(t for t in needs if t not in _existing(con))
            if missing:
                raise MartMissing(missing)
            table = con.sql(sql, params=params or {}).to_arrow_table()
            return pl.from_arrow(table)  # type: ignore[return-value]
        except (duckdb.CatalogException, duckdb.BinderException) as exc:
            raise MartIncompatible(needs, str(exc)) from exc
        except (duckdb.IOException, duckdb.InternalException) as exc:
            if attempt == 1:
                time.sleep(RETRY_DELAY_SECONDS)
                continue
            raise WarehouseBusy(snap.path, str(exc)) from exc
        finally:
            con.close()
    raise AssertionError("unreachable")


def _cached(func):  # type: ignore[no-untyped-def]
    return st.cache_data(ttl=TTL_SECONDS, show_spinner=False)(func)


# --------------------------------------------------------------------------- common


@_cached
def tables(snap: Snapshot) -> list[str]:
    """``schema.table`` names present in the snapshot."""
    df = run_query(
        snap,
        "select table_schema || '.' || table_name as name from information_schema.tables "
        "order by name",
    )
    return df.get_column("name").to_list()


@_cached
def periods(snap: Snapshot) -> list[str]:
    """Billing periods known to the snapshot, newest first (invoices, else margin)."""
    present = set(tables(snap))
    sources = [t for t in ("marts.fct_invoices", "marts.fct_customer_margin") if t in present]
    if not sources:
        return []
    union = " union ".join(f"select distinct period from {t}" for t in sources)
    df = run_query(
        snap, f"select period from ({union}) where period is not null order by period desc"
    )
    return df.get_column("period").to_list()


@_cached
def customers(snap: Snapshot) -> pl.DataFrame:
    """customer_id, customer_name (name = id when the reference table is absent)."""
    if "staging.stg_reference__customers" in tables(snap):
        return run_query(
            snap,
            "select customer_id, coalesce(customer_name, customer_id) as customer_name "
            "from staging.stg_reference__customers order by customer_id",
        )
    return run_query(
        snap,
        "select distinct customer_id, customer_id as customer_name from marts.fct_invoices "
        "order by customer_id",
        needs=("marts.fct_invoices",),
    )


# --------------------------------------------------------------------------- overview

_MARGIN = "marts.fct_customer_margin"


@_cached
def margin_totals(snap: Snapshot, period_list: tuple[str, ...]) -> pl.DataFrame:
    """period, currency, revenue, cogs, gross_margin, margin_pct for the given periods."""
    return run_query(
        snap,
        """
        with margin as (
            select period, currency, revenue, cogs, gross_margin
            from marts.fct_customer_margin
            where list_contains($periods, period)
        ),
        totals as (
            select
                period,
                currency,
                sum(revenue) as revenue,
                sum(cogs) as cogs,
                sum(gross_margin) as gross_margin,
            from margin
            group by period, currency
        ),
        final as (
            select
                *,
                cast(round(100 * gross_margin / nullif(revenue, 0), 2) as decimal(18, 2))
                    as margin_pct,
            from totals
        )
        select * from final order by period, currency
        """,
        {"periods": list(period_list)},
        needs=(_MARGIN,),
    )


@_cached
def margin_trend(snap: Snapshot) -> pl.DataFrame:
    """Revenue, COGS and gross margin by period and currency, oldest first."""
    return run_query(
        snap,
        """
        select
            period,
            currency,
            sum(revenue) as revenue,
            sum(cogs) as cogs,
            sum(gross_margin) as gross_margin,
        from marts.fct_customer_margin
        group by period, currency
        order by period, currency
        """,
        needs=(_MARGIN,),
    )


@_cached
def lowest_margins(snap: Snapshot, period: str, limit: int = 10) -> pl.DataFrame:
    """The customers with the lowest margin % in the period (negative margins first)."""
    return run_query(
        snap,
        """
        select
            customer_id,
            currency,
            revenue,
            cogs,
            gross_margin,
            cast(round(100 * gross_margin / nullif(revenue, 0), 2) as decimal(18, 2))
                as margin_pct,
        from marts.fct_customer_margin
        where period = $period
        order by gross_margin < 0 desc, margin_pct asc nulls first, gross_margin, customer_id
        limit $limit
        """,
        {"period": period, "limit": limit},
        needs=(_MARGIN,),
    )


# --------------------------------------------------------------------------- invoices

_INVOICES = "marts.fct_invoices"
_LINES = "marts.fct_invoice_lines"
_USAGE = "marts.fct_usage_daily"


@_cached
def invoices(snap: Snapshot, period: str) -> pl.DataFrame:
    """The period's invoices (one per customer), drafts and issued, blocked ones flagged."""
    return run_query(
        snap,
        """
        select
            invoice_id, customer_id, period, status, invoice_number, currency,
            fees_total, usage_total, discount_total, minimum_commitment_total,
            adjustment_total, subtotal, credit_total, tax_total, total,
            is_blocked, blocked_reason, line_count,
        from marts.fct_invoices
        where period = $period
        order by customer_id, invoice_id
        """,
        {"period": period},
        needs=(_INVOICES,),
    )


@_cached
def invoice_lines(snap: Snapshot, invoice_id: str) -> pl.DataFrame:
    return run_query(
        snap,
        """
        select
            line_no, line_type, description, meter_code, dimensions,
            quantity, unit, unit_price, amount, currency,
        from marts.fct_invoice_lines
        where invoice_id = $invoice_id
        order by line_no
        """,
        {"invoice_id": invoice_id},
        needs=(_LINES,),
    )


@_cached
def line_daily_usage(snap: Snapshot, invoice_id: str, line_no: int) -> pl.DataFrame:
    """Daily usage behind one usage line: the customer's usage of the line's meter in the
    period whose dimensions the line's price row matched (first matching row wins, as in
    rating)."""
    return run_query(
        snap,
        """
        with lines as (
            select * from marts.fct_invoice_lines
            where invoice_id = $invoice_id and line_type = 'usage'
        ),
        selected as (
            select * from lines where line_no = $line_no
        ),
        usage as (
            select u.*
            from marts.fct_usage_daily as u
            inner join selected as s
                on u.customer_id = s.customer_id
                and u.period = s.period
                and u.meter_code = s.meter_code
        ),
        matched as (
            select
                usage.usage_date,
                usage.dimensions,
                usage.quantity,
                min(lines.line_no) as first_line_no,
            from usage
            inner join lines
                on lines.meter_code = usage.meter_code
                and (lines.dimensions is null
                     or coalesce(usage.dimensions, '') glob lines.dimensions)
            group by all
        ),
        final as (
            select usage_date, dimensions, quantity
            from matched
            where first_line_no = $line_no
        )
        select * from final order by usage_date, dimensions
        """,
        {"invoice_id": invoice_id, "line_no": line_no},
        needs=(_LINES, _USAGE),
    )


def _export_path(*parts: str) -> Path:
    for part in parts:
        if not _SAFE_NAME.match(part) or part in {".", ".."}:
            raise ValueError(f"unsafe export file name part: {part!r}")
    return data_dir().joinpath("exports", "invoices", *parts)


def invoice_export(period: str, invoice_number: str) -> bytes | None:
    """The bytes of ``exports/invoices/<period>/<invoice_number>.csv`` (None if not exported)."""
    if not _PERIOD.match(period):
        raise ValueError(f"bad period {period!r}")
    path = _export_path(period, f"{invoice_number}.csv")
    return path.read_bytes() if path.is_file() else None


def period_summary_export(period: str) -> bytes | None:
    """The bytes of ``exports/invoices/<period>/summary.csv`` (None if the period is not closed)."""
    if not _PERIOD.match(period):
        raise ValueError(f"bad period {period!r}")
    path = _export_path(period, "summary.csv")
    return path.read_bytes() if path.is_file() else None


# --------------------------------------------------------------------------- customer


@_cached
def customer_usage(snap: Snapshot, customer_id: str, period: str) -> pl.DataFrame:
    """Usage by meter and dimensions (model, ...) in the period."""
    return run_query(
        snap,
        """
        select
            meter_code,
            coalesce(dimensions, '') as dimensions,
            sum(quantity) as quantity,
        from marts.fct_usage_daily
        where customer_id = $customer_id and period = $period
        group by all
        order by meter_code, dimensions
        """,
        {"customer_id": customer_id, "period": period},
        needs=(_USAGE,),
    )


@_cached
def customer_usage_daily(snap: Snapshot, customer_id: str, period: str) -> pl.DataFrame:
    return run_query(
        snap,
        """
        select usage_date, meter_code, sum(quantity) as quantity,
        from marts.fct_usage_daily
        where customer_id = $customer_id and period = $period
        group by all
        order by usage_date, meter_code
        """,
        {"customer_id": customer_id, "period": period},
        needs=(_USAGE,),
    )


@_cached
def customer_invoice(snap: Snapshot, customer_id: str, period: str) -> pl.DataFrame:
    return run_query(
        snap,
        """
        select invoice_id, status, currency, usage_total, subtotal, credit_total, total,
            is_blocked, blocked_reason,
        from marts.fct_invoices
        where customer_id = $customer_id and period = $period
        """,
        {"customer_id": customer_id, "period": period},
        needs=(_INVOICES,),
    )


_ALERTS = "marts.fct_spend_alerts"
_BALANCES = "marts.fct_credit_balances"
_LEDGER = "marts.fct_credit_ledger"
_CONTRACTS = "marts.fct_contract_progress"


@_cached
def customer_budget(snap: Snapshot, customer_id: str, period: str) -> pl.DataFrame:
    """Budget status of the customer in the period: spend to date, budget, projected month-end,
    thresholds crossed."""
    return run_query(
        snap,
        """
        select
            customer_id, period, currency, spend_to_date, monthly_budget,
            projected_month_end, threshold_pct, alert_type, alert_date, hard_limit,
        from marts.fct_spend_alerts
        where customer_id = $customer_id and period = $period
        order by alert_date, threshold_pct
        """,
        {"customer_id": customer_id, "period": period},
        needs=(_ALERTS,),
    )


@_cached
def credit_balance(snap: Snapshot, customer_id: str) -> pl.DataFrame:
    return run_query(
        snap,
        """
        select customer_id, currency, balance, projected_exhaustion_date,
        from marts.fct_credit_balances
        where customer_id = $customer_id
        """,
        {"customer_id": customer_id},
        needs=(_BALANCES,),
    )


@_cached
def credit_ledger(snap: Snapshot, customer_id: str) -> pl.DataFrame:
    return run_query(
        snap,
        """
        select *
        from marts.fct_credit_ledger
        where customer_id = $customer_id
        """,
        {"customer_id": customer_id},
        needs=(_LEDGER,),
    )


# --------------------------------------------------------------------------- contracts


@_cached
def contract_progress(snap: Snapshot, customer_id: str | None = None) -> pl.DataFrame:
    """Contract × period progress rows (all customers, or one)."""
    return run_query(
        snap,
        """
        select
            contract_id, customer_id, period, currency, commit_amount, commit_period,
            consumed_to_date, expected_to_date, projected_consumption, pace_pct,
            true_up_amount, contract_end, renewal_notice_date, is_at_risk, is_renewing,
        from marts.fct_contract_progress
        where $customer_id is null or customer_id = $customer_id
        order by customer_id, contract_id, period
        """,
        {"customer_id": customer_id},
        needs=(_CONTRACTS,),
    )


# --------------------------------------------------------------------------- cogs & margin

_COGS = "marts.fct_cogs_daily"
_RECON = "marts.fct_cost_reconciliation"
_PROVIDER_COSTS = "marts.fct_provider_costs"
COGS_DIMENSIONS: dict[str, str] = {
    "provider": "provider",
    "model": "model",
    "feature": "feature",
    "customer": "customer_id",
}


@_cached
def cogs_by(snap: Snapshot, period: str, dimension: str) -> pl.DataFrame:
    """COGS in the period by one dimension (provider, model, feature, customer): direct,
    allocated and total."""
    column = COGS_DIMENSIONS[dimension]  # whitelist: never an identifier from the user
    return run_query(
        snap,
        f"""
        select
            coalesce(cast({column} as varchar), '(none)') as {dimension},
            sum(direct_cogs) as direct_cogs,
            sum(allocated_cogs) as allocated_cogs,
            sum(cogs) as cogs,
        from marts.fct_cogs_daily
        where period = $period
        group by all
        order by cogs desc, {dimension}
        """,
        {"period": period},
        needs=(_COGS,),
    )


@_cached
def reconciliation(snap: Snapshot, period: str) -> pl.DataFrame:
    """Provider × model × day reconciliation rows of the period."""
    return run_query(
        snap,
        """
        select
            provider, model, usage_date, metered_tokens, reported_tokens,
            expected_cost, billed_cost, cost_difference, status,
        from marts.fct_cost_reconciliation
        where strftime(usage_date, '%Y-%m') = $period
        order by usage_date, provider, model
        """,
        {"period": period},
        needs=(_RECON,),
    )


# --------------------------------------------------------------------------- alerts


@_cached
def alerts(snap: Snapshot, period: str) -> pl.DataFrame:
    """Thresholds crossed, hard-limit breaches and anomalies of the period, in one list."""
    return run_query(
        snap,
        """
        select
            alert_date, customer_id, alert_type, threshold_pct, currency, spend_to_date,
            monthly_budget, projected_month_end, hard_limit,
        from marts.fct_spend_alerts
        where period = $period
        order by alert_date, customer_id, alert_type, threshold_pct
        """,
        {"period": period},
        needs=(_ALERTS,),
    )


# --------------------------------------------------------------------------- data quality

_MANIFEST = "raw.load_manifest"
_QUARANTINE = "raw.quarantine"


@_cached
def source_freshness(snap: Snapshot) -> pl.DataFrame:
    """Per source: files, rows, and the latest arrival and load."""
    return run_query(
        snap,
        """
        select
            source,
            count(*) as files,
            sum(raw_rows) as raw_rows,
            sum(loaded_rows) as loaded_rows,
            sum(duplicate_rows) as duplicate_rows,
            sum(quarantined_rows) as quarantined_rows,
            max(arrival_at) as latest_arrival,
            max(loaded_at) as latest_load,
        from raw.load_manifest
        group by source
        order by source
        """,
        needs=(_MANIFEST,),
    )


@_cached
def quarantine_counts(snap: Snapshot) -> pl.DataFrame:
    return run_query(
        snap,
        """
        select source, reason_code, count(*) as rows,
        from raw.quarantine
        group by source, reason_code
        order by rows desc, source, reason_code
        """,
        needs=(_QUARANTINE,),
    )


@_cached
def quarantine_examples(snap: Snapshot, per_reason: int = 3) -> pl.DataFrame:
    """A few example rows per (source, reason), first in file order."""
    return run_query(
        snap,
        """
        select source, reason_code, file_path, row_number, reason_detail, raw_record,
        from raw.quarantine
        qualify row_number() over (
            partition by source, reason_code order by file_path, row_number
        ) <= $per_reason
        order by source, reason_code, file_path, row_number
        """,
        {"per_reason": per_reason},
        needs=(_QUARANTINE,),
    )


def last_run() -> dict[str, Any] | None:
    """``<data_dir>/.meterline/last_run.json`` written by ``meterline run`` (None if absent or
    unreadable)."""
    path = data_dir() / ".meterline" / "last_run.json"
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else {"value": loaded}


def environment_summary() -> dict[str, str]:
    """Where the dashboard reads from (shown in the sidebar)."""
    return {
        "data_dir": str(data_dir()),
        "published": str(published_path()),
        "env": os.environ.get("METERLINE_DATA_DIR", ""),
    }
