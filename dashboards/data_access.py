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
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, TypeVar, cast

import duckdb
import polars as pl
import streamlit as st

from orchestration.config import settings

TTL_SECONDS = 60
RETRY_DELAY_SECONDS = 0.5
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")
_PERIOD = re.compile(r"^\d{4}-\d{2}$")
F = TypeVar("F", bound=Callable[..., Any])


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
        verb = "is" if len(tables) == 1 else "are"
        super().__init__(f"Not available yet: {names} {verb} not built in this warehouse.")


class MartIncompatible(DashboardDataError):
    def __init__(self, tables: tuple[str, ...], detail: str) -> None:
        self.tables = tables
        names = ", ".join(f"`{t}`" for t in tables) or "the snapshot"
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
            existing = _existing(con) if needs else set()
            missing = tuple(t for t in needs if t not in existing)
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


def _cached(func: F) -> F:
    """``st.cache_data`` with the dashboard's TTL (errors are never cached)."""
    return cast(F, st.cache_data(ttl=TTL_SECONDS, show_spinner=False)(func))


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


_PERIODS = "marts.dim_billing_periods"
_CUSTOMERS = "marts.dim_customers"


@_cached
def periods(snap: Snapshot) -> pl.DataFrame:
    """Billing periods newest first (dim_billing_periods): period, its label ("2026-11 ·
    incomplete (usage through ...)"), status, whether it is open (projections apply), has
    drafts older than an issued period, and which one is the default."""
    return run_query(
        snap,
        """
        select
            period, period_label, period_status, is_open, is_default, has_usage,
            usage_through, draft_invoices, issued_invoices, has_drafts_before_issued,
        from marts.dim_billing_periods
        order by period desc
        """,
        needs=(_PERIODS,),
    )


def period_list(snap: Snapshot) -> list[str]:
    return periods(snap).get_column("period").to_list()


def default_period(snap: Snapshot) -> str | None:
    """The period the pickers start on (dim_billing_periods.is_default: the latest complete
    period with usage, else the latest period with usage)."""
    table = periods(snap).filter(pl.col("is_default"))
    return table.item(0, "period") if table.height else None


@_cached
def customers(snap: Snapshot) -> pl.DataFrame:
    """customer_id, customer_name, currency, timezone, payment_terms_days (dim_customers)."""
    return run_query(
        snap,
        """
        select customer_id, customer_name, currency, timezone, segment, payment_terms_days,
        from marts.dim_customers
        order by customer_name, customer_id
        """,
        needs=(_CUSTOMERS,),
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
            select period, currency, revenue, cogs_total, gross_margin
            from marts.fct_customer_margin
            where list_contains($periods, period)
        ),
        totals as (
            select
                period,
                currency,
                sum(revenue) as revenue,
                sum(cogs_total) as cogs,
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
            sum(cogs_total) as cogs,
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
            customers.customer_name, margin.customer_id, margin.segment, margin.currency,
            margin.revenue, margin.cogs_total as cogs, margin.gross_margin, margin.margin_pct,
            margin.markup_pct, margin.margin_flag,
        from marts.fct_customer_margin as margin
        left join marts.dim_customers as customers
            on margin.customer_id = customers.customer_id
        where margin.period = $period
        order by
            margin.gross_margin < 0 desc, margin.margin_pct asc nulls first, margin.gross_margin,
            margin.customer_id
        limit $limit
        """,
        {"period": period, "limit": limit},
        needs=(_MARGIN, _CUSTOMERS),
    )


# --------------------------------------------------------------------------- invoices

_INVOICES = "marts.fct_invoices"
_LINES = "marts.fct_invoice_lines"
_USAGE = "marts.fct_usage_daily"


_REGISTER = "marts.fct_invoice_register"
_LINE_USAGE = "marts.fct_invoice_line_usage_daily"
_LINE_EVENTS = "marts.fct_invoice_line_events"


@_cached
def invoices(snap: Snapshot, period: str) -> pl.DataFrame:
    """The period's invoices (fct_invoice_register), by invoice number (drafts after, by
    customer name): status, issue and due date, customer name, amounts, blocked ones and why."""
    return run_query(
        snap,
        """
        select
            invoice_number, customer_name, status, issue_date, due_date, currency,
            fees_total, usage_total, discount_total, minimum_commitment_total,
            adjustment_total, subtotal, credit_total, tax_total, total,
            is_blocked, blocked_reason, is_draft_before_issued, line_count, customer_id,
            invoice_id, period,
        from marts.fct_invoice_register
        where period = $period
        order by invoice_number nulls last, customer_name, invoice_id
        """,
        {"period": period},
        needs=(_REGISTER,),
    )


_CREDIT_NOTES = "marts.fct_credit_notes"


@_cached
def period_statuses(snap: Snapshot) -> pl.DataFrame:
    """Issued vs draft invoices per billing period, newest first, and whether a period was left
    open (drafts) while a later one is issued (dim_billing_periods)."""
    return run_query(
        snap,
        """
        select
            period, period_status, invoices, issued_invoices, draft_invoices, blocked_invoices,
            has_drafts_before_issued,
        from marts.dim_billing_periods
        where invoices > 0
        order by period desc
        """,
        needs=(_PERIODS,),
    )


@_cached
def credit_notes(snap: Snapshot, period: str) -> pl.DataFrame:
    """The credit notes issued at the close of ``period`` (fct_credit_notes), by number: the
    invoice and line each credits, why, refunded or kept as account credit, and the amounts."""
    return run_query(
        snap,
        """
        select
            n.credit_note_number, c.customer_name, n.invoice_number, n.invoice_period,
            n.line_no, n.reason, n.settlement, n.currency, n.amount, n.tax, n.total,
            n.account_credit_used, n.account_credit_balance, n.customer_id,
        from marts.fct_credit_notes as n
        left join marts.dim_customers as c on c.customer_id = n.customer_id
        where n.period = $period
        order by n.credit_note_number
        """,
        {"period": period},
        needs=(_CREDIT_NOTES, _CUSTOMERS),
    )


@_cached
def customer_invoices(snap: Snapshot, customer_id: str) -> pl.DataFrame:
    """Every invoice of one customer, newest period first (invoice history)."""
    return run_query(
        snap,
        """
        select
            period, invoice_number, status, issue_date, due_date, currency, subtotal,
            credit_total, tax_total, total, is_blocked, invoice_id,
        from marts.fct_invoice_register
        where customer_id = $customer_id
        order by period desc, invoice_id
        """,
        {"customer_id": customer_id},
        needs=(_REGISTER,),
    )


@_cached
def invoice_lines(snap: Snapshot, invoice_id: str) -> pl.DataFrame:
    return run_query(
        snap,
        """
        select
            line_no, line_type, description, quantity, unit, unit_price, amount, currency,
            meter_code, dimensions, line_key,
        from marts.fct_invoice_lines
        where invoice_id = $invoice_id
        order by line_no
        """,
        {"invoice_id": invoice_id},
        needs=(_LINES,),
    )


@_cached
def unpriced_usage(snap: Snapshot, period: str) -> pl.DataFrame:
    """Usage no price matched in the period (it blocks closing the customer's invoice)."""
    return run_query(
        snap,
        """
        select
            customers.customer_name, unpriced.customer_id, unpriced.meter_code,
            unpriced.dimensions, unpriced.quantity, unpriced.unit, unpriced.unpriced_reason,
            unpriced.event_count, unpriced.first_usage_date, unpriced.last_usage_date,
        from marts.fct_unpriced_usage as unpriced
        left join marts.dim_customers as customers
            on unpriced.customer_id = customers.customer_id
        where unpriced.period = $period
        order by unpriced.customer_id, unpriced.meter_code, unpriced.dimensions
        """,
        {"period": period},
        needs=("marts.fct_unpriced_usage", _CUSTOMERS),
    )


@_cached
def line_daily_usage(snap: Snapshot, invoice_id: str, line_key: str) -> pl.DataFrame:
    """The usage behind one usage line per local day (fct_invoice_line_usage_daily): quantity,
    events, and how many dimension rows (model versions, ...) the day adds up."""
    return run_query(
        snap,
        """
        select
            usage_date,
            sum(quantity) as quantity,
            sum(event_count) as event_count,
            count(*) as dimension_rows,
        from marts.fct_invoice_line_usage_daily
        where invoice_id = $invoice_id and line_key = $line_key
        group by usage_date
        order by usage_date
        """,
        {"invoice_id": invoice_id, "line_key": line_key},
        needs=(_LINE_USAGE,),
    )


@_cached
def line_usage_rows(snap: Snapshot, invoice_id: str, line_key: str) -> pl.DataFrame:
    """The line's usage rows by day and dimensions (fct_invoice_line_usage_daily)."""
    return run_query(
        snap,
        """
        select usage_date, dimensions, quantity, event_count,
        from marts.fct_invoice_line_usage_daily
        where invoice_id = $invoice_id and line_key = $line_key
        order by usage_date, dimensions
        """,
        {"invoice_id": invoice_id, "line_key": line_key},
        needs=(_LINE_USAGE,),
    )


@_cached
def line_events(
    snap: Snapshot, customer_id: str, invoice_id: str, line_key: str, limit: int = 25
) -> pl.DataFrame:
    """A sample of the events behind one usage line (the first ``limit`` in time), each with
    the raw file and row it was loaded from (fct_invoice_line_events), and the line's event
    count."""
    return run_query(
        snap,
        """
        select
            event_time, usage_date, event_id, quantity, file_path, row_number, event_source,
            count(*) over () as events_on_line,
        from marts.fct_invoice_line_events
        where customer_id = $customer_id and invoice_id = $invoice_id and line_key = $line_key
        order by event_time, event_source, event_id
        limit $limit
        """,
        {
            "customer_id": customer_id,
            "invoice_id": invoice_id,
            "line_key": line_key,
            "limit": limit,
        },
        needs=(_LINE_EVENTS,),
    )


def _export_path(*parts: str) -> Path:
    for part in parts:
        if not _SAFE_NAME.match(part) or part in {".", ".."}:
            raise ValueError(f"unsafe export file name part: {part!r}")
    return data_dir().joinpath("exports", "invoices", *parts)


def invoice_export(period: str, invoice_number: str, suffix: str = "csv") -> bytes | None:
    """The bytes of ``exports/invoices/<period>/<invoice_number>.<suffix>`` (csv or pdf; None
    if not exported)."""
    if not _PERIOD.match(period):
        raise ValueError(f"bad period {period!r}")
    if suffix not in ("csv", "pdf"):
        raise ValueError(f"bad export suffix {suffix!r}")
    path = _export_path(period, f"{invoice_number}.{suffix}")
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


@_cached
def customer_trend(snap: Snapshot, customer_id: str) -> pl.DataFrame:
    """One customer's revenue, COGS, gross margin and margin % per period (oldest first)."""
    return run_query(
        snap,
        """
        select period, currency, revenue, cogs_total as cogs, gross_margin, margin_pct,
        from marts.fct_customer_margin
        where customer_id = $customer_id
        order by period
        """,
        {"customer_id": customer_id},
        needs=(_MARGIN,),
    )


@_cached
def customer_usage_trend(snap: Snapshot, customer_id: str) -> pl.DataFrame:
    """One customer's usage per meter and period (oldest first)."""
    return run_query(
        snap,
        """
        select period, meter_code, any_value(unit) as unit, sum(quantity) as quantity,
            sum(event_count) as event_count,
        from marts.fct_usage_daily
        where customer_id = $customer_id
        group by period, meter_code
        order by period, meter_code
        """,
        {"customer_id": customer_id},
        needs=(_USAGE,),
    )


_ALERTS = "marts.fct_spend_alerts"
_DAILY_SPEND = "marts.fct_customer_daily_spend"
_ANOMALIES = "marts.fct_spend_anomalies"
_BALANCES = "marts.fct_credit_balances"
_LEDGER = "marts.fct_credit_ledger"
_CONTRACTS = "marts.fct_contract_progress"


@_cached
def customer_budget(snap: Snapshot, customer_id: str, period: str) -> pl.DataFrame:
    """The customer's alert thresholds in the period: spend to date, budget (baseline),
    projected month-end, each threshold and whether it is crossed or projected to be."""
    return run_query(
        snap,
        """
        select
            threshold_pct, threshold_amount, is_crossed, crossed_on, is_projected_to_cross,
            currency, spend_to_date, projected_period_spend, monthly_budget, baseline_source,
            baseline_amount, hard_limit, hard_limit_breached, hard_limit_breached_on,
            anomaly_days, as_of_date, evaluated_through,
        from marts.fct_spend_alerts
        where customer_id = $customer_id and period = $period
        order by threshold_pct
        """,
        {"customer_id": customer_id, "period": period},
        needs=(_ALERTS,),
    )


@_cached
def customer_daily_spend(snap: Snapshot, customer_id: str, period: str) -> pl.DataFrame:
    """Spend per local day and spend to date in the period (for the budget chart)."""
    return run_query(
        snap,
        """
        select spend_date, currency, spend, spend_to_date, is_anomaly,
        from marts.fct_customer_daily_spend
        where customer_id = $customer_id and period = $period
        order by spend_date
        """,
        {"customer_id": customer_id, "period": period},
        needs=(_DAILY_SPEND,),
    )


@_cached
def credit_balance(snap: Snapshot, customer_id: str) -> pl.DataFrame:
    """The as-of row of each of the customer's grants: balance, pending burn, projection."""
    return run_query(
        snap,
        """
        select
            grant_id, kind, priority, cast(expires_at as date) as expires_at, balance_date,
            balance, pending_burn,
            available_balance, burn_rate_daily, projected_exhaustion_date,
            projected_unused_at_expiry,
        from marts.fct_credit_balances
        where customer_id = $customer_id and is_as_of
        order by burn_rank nulls last, grant_id
        """,
        {"customer_id": customer_id},
        needs=(_BALANCES,),
    )


@_cached
def credit_ledger(snap: Snapshot, customer_id: str) -> pl.DataFrame:
    return run_query(
        snap,
        """
        select
            cast(entry_at as date) as entry_at, entry_type, grant_id, kind, period, invoice_id,
            currency, amount, grant_balance_after, customer_balance_after,
        from marts.fct_credit_ledger
        where customer_id = $customer_id
        order by entry_at, ledger_entry_id
        """,
        {"customer_id": customer_id},
        needs=(_LEDGER,),
    )


# --------------------------------------------------------------------------- contracts


@_cached
def contract_progress(snap: Snapshot, customer_id: str | None = None) -> pl.DataFrame:
    """Contract × period progress rows (all customers, or one), oldest period first."""
    return run_query(
        snap,
        """
        select
            progress.contract_id, customers.customer_name, progress.customer_id,
            progress.period, progress.currency, progress.commit_period,
            progress.committed_amount, progress.consumed_to_date,
            progress.straight_line_to_date, progress.pace_variance, progress.pace_pct,
            progress.projected_spend, progress.projected_shortfall, progress.at_risk,
            progress.renewal_due, progress.days_to_end, progress.contract_end_date,
            progress.evaluation_date, progress.is_current,
        from marts.fct_contract_progress as progress
        left join marts.dim_customers as customers
            on progress.customer_id = customers.customer_id
        where progress.customer_id = coalesce($customer_id, progress.customer_id)
        order by progress.customer_id, progress.contract_id, progress.period
        """,
        {"customer_id": customer_id},
        needs=(_CONTRACTS, _CUSTOMERS),
    )


# --------------------------------------------------------------------------- cogs & margin

_BREAKDOWN = "marts.fct_customer_cogs_breakdown"
_COGS = "marts.fct_cogs_daily"
_RECON = "marts.fct_cost_reconciliation"
_PROVIDER_COSTS = "marts.fct_provider_costs"
_MODEL_MARGIN = "marts.fct_model_margin"
COGS_DIMENSIONS: dict[str, str] = {
    "provider": "provider",
    "model": "model",
    "feature": "feature",
    "customer": "customer_id",
}


@_cached
def cogs_by(snap: Snapshot, period: str, dimension: str) -> pl.DataFrame:
    """Attributed COGS of the billing period by one dimension (provider, model, feature,
    customer): direct, allocated and total."""
    column = COGS_DIMENSIONS[dimension]  # whitelist: never an identifier from the user
    if dimension == "customer":
        return run_query(
            snap,
            """
            select
                coalesce(any_value(customers.customer_name), breakdown.customer_id)
                    as customer,
                breakdown.customer_id,
                sum(breakdown.cogs_direct) as cogs_direct,
                sum(breakdown.cogs_allocated) as cogs_allocated,
                sum(breakdown.cogs_total) as cogs_total,
            from marts.fct_customer_cogs_breakdown as breakdown
            left join marts.dim_customers as customers
                on breakdown.customer_id = customers.customer_id
            where breakdown.period = $period
            group by breakdown.customer_id
            order by cogs_total desc, customer
            """,
            {"period": period},
            needs=(_BREAKDOWN, _CUSTOMERS),
        )
    return run_query(
        snap,
        f"""
        select
            coalesce(cast({column} as varchar), '(none)') as {dimension},
            sum(cogs_direct) as cogs_direct,
            sum(cogs_allocated) as cogs_allocated,
            sum(cogs_total) as cogs_total,
        from marts.fct_customer_cogs_breakdown
        where period = $period
        group by all
        order by cogs_total desc, {dimension}
        """,
        {"period": period},
        needs=(_BREAKDOWN,),
    )


@_cached
def model_margin(snap: Snapshot, customer_id: str, period: str) -> pl.DataFrame:
    """One customer's gross margin of the period per model (fct_model_margin): revenue after
    discount and promotional credits, COGS direct and allocated, margin, margin %, markup %;
    largest revenue first."""
    return run_query(
        snap,
        """
        select
            model, revenue, cogs_direct, cogs_allocated, cogs_total, gross_margin, margin_pct,
            markup_pct,
        from marts.fct_model_margin
        where customer_id = $customer_id and period = $period
        order by revenue desc, cogs_total desc, model
        """,
        {"customer_id": customer_id, "period": period},
        needs=(_MODEL_MARGIN,),
    )


@_cached
def unattributed_cogs(snap: Snapshot, period: str) -> pl.DataFrame:
    """Provider cost with no metered usage behind it (UTC days of the period's month)."""
    return run_query(
        snap,
        """
        select provider, model, currency, sum(cogs_total) as cogs_total,
        from marts.fct_cogs_daily
        where is_unattributed and strftime(cost_date, '%Y-%m') = $period
        group by all
        order by cogs_total desc, provider, model
        """,
        {"period": period},
        needs=(_COGS,),
    )


@_cached
def provider_billed(snap: Snapshot, period: str) -> pl.DataFrame:
    """What providers billed in the month (UTC charge days), by provider and charge category."""
    return run_query(
        snap,
        """
        select
            x_provider as provider,
            ServiceCategory as service_category,
            ChargeCategory as charge_category,
            BillingCurrency as currency,
            sum(BilledCost) as billed_cost,
            count(*) as cost_lines,
        from marts.fct_provider_costs
        where strftime(x_charge_date, '%Y-%m') = $period
        group by all
        order by provider, service_category, charge_category
        """,
        {"period": period},
        needs=(_PROVIDER_COSTS,),
    )


@_cached
def reconciliation(snap: Snapshot, period: str) -> pl.DataFrame:
    """Provider × model × UTC day reconciliation rows of the month."""
    return run_query(
        snap,
        """
        select
            provider, model, usage_date, status, is_flagged, metered_tokens, reported_tokens,
            token_difference, expected_cost, billed_cost, cost_difference, cost_difference_pct,
        from marts.fct_cost_reconciliation
        where strftime(usage_date, '%Y-%m') = $period
        order by usage_date, provider, model
        """,
        {"period": period},
        needs=(_RECON,),
    )


# --------------------------------------------------------------------------- alerts


_ALERT_LIST = "marts.fct_alerts"


@_cached
def alerts(snap: Snapshot, period: str) -> pl.DataFrame:
    """Every alert of the period (fct_alerts): thresholds crossed and hard-limit breaches with
    the spend to date on the day they happened, anomalous days with the day's basis; customer
    names beside."""
    return run_query(
        snap,
        """
        select
            alerts.alert_date, customers.customer_name, alerts.alert_type, alerts.detail,
            alerts.threshold_pct, alerts.currency, alerts.amount, alerts.reference_amount,
            alerts.period_spend_to_date, alerts.customer_id,
        from marts.fct_alerts as alerts
        left join marts.dim_customers as customers
            on alerts.customer_id = customers.customer_id
        where alerts.period = $period
        order by alerts.alert_date, customers.customer_name, alerts.customer_id,
            alerts.alert_type, alerts.threshold_pct
        """,
        {"period": period},
        needs=(_ALERT_LIST, _CUSTOMERS),
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


# --------------------------------------------------------------------------- pricing lab

_SCN_INVOICES = "marts.fct_scenario_invoices"
_SCN_MARGIN = "marts.fct_scenario_customer_margin"


@_cached
def scenarios(snap: Snapshot) -> pl.DataFrame:
    """The scenarios that have results: scenario, scenario_name, description, periods, scope."""
    return run_query(
        snap,
        """
        select
            s.scenario, s.scenario_name, s.description, s.period_from, s.period_to,
            s.customer_scope, s.move_to_plan, s.plan_files,
        from staging.stg_scenarios__scenarios as s
        where s.scenario in (select distinct scenario from marts.fct_scenario_invoices)
        order by s.scenario
        """,
        needs=("staging.stg_scenarios__scenarios", _SCN_INVOICES),
    )


@_cached
def scenario_periods(snap: Snapshot, scenario: str) -> list[str]:
    df = run_query(
        snap,
        "select distinct period from marts.fct_scenario_invoices where scenario = $scenario "
        "order by period desc",
        {"scenario": scenario},
        needs=(_SCN_INVOICES,),
    )
    return df.get_column("period").to_list()


@_cached
def scenario_currencies(snap: Snapshot, scenario: str, period: str) -> list[str]:
    """The invoice currencies of a scenario's period, the one with most invoices first: the
    page's totals are per currency (a yen and a dollar are never added)."""
    df = run_query(
        snap,
        """
        select currency from marts.fct_scenario_invoices
        where scenario = $scenario and period = $period
        group by currency order by count(*) desc, currency
        """,
        {"scenario": scenario, "period": period},
        needs=(_SCN_INVOICES,),
    )
    return df.get_column("currency").to_list()


@_cached
def scenario_totals(snap: Snapshot, scenario: str, period: str, currency: str) -> pl.DataFrame:
    """One row for one invoice currency: revenue, COGS and margin current vs simulated; invoices
    up, down, unchanged; bill shocks; customers falling below their margin target."""
    return run_query(
        snap,
        """
        with margin as (
            select
                sum(m.current_revenue) as current_revenue,
                sum(m.simulated_revenue) as simulated_revenue,
                sum(m.current_cogs) as current_cogs,
                sum(m.simulated_cogs) as simulated_cogs,
                sum(m.current_gross_margin) as current_margin,
                sum(m.simulated_gross_margin) as simulated_margin,
                count(*) filter (where m.falls_below_target) as below_target,
            from marts.fct_scenario_customer_margin as m
            where m.scenario = $scenario and m.period = $period and m.currency = $currency
        ),
        bills as (
            select
                sum(current_total) as current_billed,
                sum(simulated_total) as simulated_billed,
                count(*) filter (where impact = 'increase') as worse_off,
                count(*) filter (where impact = 'decrease') as better_off,
                count(*) filter (where impact = 'unchanged') as unchanged,
                count(*) filter (where is_bill_shock) as bill_shocks,
                max(bill_shock_threshold_pct) as bill_shock_threshold_pct,
            from marts.fct_scenario_invoices
            where scenario = $scenario and period = $period and currency = $currency
        )
        select
            margin.*,
            cast(round(100 * current_margin / nullif(current_revenue, 0), 2) as decimal(18, 2))
                as current_margin_pct,
            cast(round(100 * simulated_margin / nullif(simulated_revenue, 0), 2)
                as decimal(18, 2)) as simulated_margin_pct,
            bills.*,
        from margin cross join bills
        """,
        {"scenario": scenario, "period": period, "currency": currency},
        needs=(_SCN_INVOICES, _SCN_MARGIN),
    )


@_cached
def scenario_customers(snap: Snapshot, scenario: str, period: str) -> pl.DataFrame:
    """Per customer: bill and margin current vs simulated, largest absolute change first."""
    return run_query(
        snap,
        """
        select
            i.customer_id, i.segment, i.currency, i.is_in_scope,
            i.current_total, i.simulated_total, i.total_difference, i.total_difference_pct,
            i.is_bill_shock,
            m.current_margin_pct, m.simulated_margin_pct, m.margin_target_pct,
            m.simulated_margin_flag, m.falls_below_target,
        from marts.fct_scenario_invoices as i
        left join marts.fct_scenario_customer_margin as m
            on i.scenario = m.scenario and i.customer_id = m.customer_id
            and i.period = m.period
        where i.scenario = $scenario and i.period = $period
        order by abs(i.total_difference) desc, i.customer_id
        """,
        {"scenario": scenario, "period": period},
        needs=(_SCN_INVOICES, _SCN_MARGIN),
    )


@_cached
def scenario_bill_shocks(snap: Snapshot, scenario: str, period: str) -> pl.DataFrame:
    return run_query(
        snap,
        """
        select
            customer_id, segment, currency, current_total, simulated_total, total_difference,
            total_difference_pct,
        from marts.fct_scenario_bill_shocks
        where scenario = $scenario and period = $period
        order by shock_rank
        """,
        {"scenario": scenario, "period": period},
        needs=("marts.fct_scenario_bill_shocks",),
    )


@_cached
def scenario_model_margin(
    snap: Snapshot, scenario: str, period: str, currency: str
) -> pl.DataFrame:
    """Per model, for the customers invoiced in ``currency``: revenue and margin % current vs
    simulated, the largest change of margin first."""
    return run_query(
        snap,
        """
        with grouped as (
            select
                m.model,
                sum(m.current_revenue) as current_revenue,
                sum(m.simulated_revenue) as simulated_revenue,
                sum(m.current_cogs) as current_cogs,
                sum(m.simulated_cogs) as simulated_cogs,
            from marts.fct_scenario_margin as m
            where m.scenario = $scenario and m.period = $period and m.currency = $currency
            group by m.model
        )
        select
            model,
            cast($currency as varchar) as currency,
            current_revenue,
            simulated_revenue,
            current_cogs,
            simulated_cogs,
            cast(round(100 * (current_revenue - current_cogs) / nullif(current_revenue, 0), 2)
                as decimal(18, 2)) as current_margin_pct,
            cast(round(100 * (simulated_revenue - simulated_cogs)
                / nullif(simulated_revenue, 0), 2) as decimal(18, 2)) as simulated_margin_pct,
        from grouped
        order by
            abs((simulated_revenue - simulated_cogs) - (current_revenue - current_cogs)) desc,
            current_revenue desc,
            model
        """,
        {"scenario": scenario, "period": period, "currency": currency},
        needs=("marts.fct_scenario_margin",),
    )
