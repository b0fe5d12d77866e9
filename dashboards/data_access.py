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
def default_period(snap: Snapshot) -> str | None:
    """The period the pickers start on: the newest one with at least half as many invoices as
    the busiest period (so a sliver of next month, from customers in later time zones, is not
    the default); the newest period when there are no invoices."""
    if "marts.fct_invoices" not in tables(snap):
        known = periods(snap)
        return known[0] if known else None
    df = run_query(
        snap,
        """
        with counts as (
            select period, count(*) as invoices
            from marts.fct_invoices
            group by period
        )
        select period
        from counts
        where invoices * 2 >= (select max(invoices) from counts)
        order by period desc
        limit 1
        """,
        needs=("marts.fct_invoices",),
    )
    return df.item() if df.height else None


@_cached
def customers(snap: Snapshot) -> pl.DataFrame:
    """customer_id, customer_name, currency (name = id, USD when the reference table is absent)."""
    if "staging.stg_reference__customers" in tables(snap):
        return run_query(
            snap,
            "select customer_id, coalesce(customer_name, customer_id) as customer_name, "
            "coalesce(currency, 'USD') as currency "
            "from staging.stg_reference__customers order by customer_id",
        )
    return run_query(
        snap,
        "select customer_id, customer_id as customer_name, min(currency) as currency "
        "from marts.fct_invoices group by customer_id order by customer_id",
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
            customer_id, segment, currency, revenue, cogs_total as cogs, gross_margin,
            margin_pct, markup_pct, margin_flag,
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
def unpriced_usage(snap: Snapshot, period: str) -> pl.DataFrame:
    """Usage no price matched in the period (it blocks closing the customer's invoice)."""
    return run_query(
        snap,
        """
        select
            customer_id, meter_code, dimensions, quantity, unit, unpriced_reason, event_count,
            first_usage_date, last_usage_date,
        from marts.fct_unpriced_usage
        where period = $period
        order by customer_id, meter_code, dimensions
        """,
        {"period": period},
        needs=("marts.fct_unpriced_usage",),
    )


_PRICED = "intermediate.int_billing_usage_priced"


@_cached
def line_daily_usage(snap: Snapshot, invoice_id: str, line_no: int) -> pl.DataFrame:
    """Daily usage behind one usage line (usage_date, dimensions, quantity).

    Exact when the snapshot has the rating step ``int_billing_usage_priced`` (each usage day is
    matched to the line_key ``usage:<subscription>:<meter>:<charge>:<price>`` it was priced by);
    otherwise the line's dimension globs are matched against the usage days of its meter, the
    first matching price row winning as in rating."""
    params = {"invoice_id": invoice_id, "line_no": line_no}
    if _PRICED in tables(snap):
        return run_query(
            snap,
            """
            with line as (
                select customer_id, period, line_key
                from marts.fct_invoice_lines
                where invoice_id = $invoice_id and line_no = $line_no and line_type = 'usage'
            ),
            priced as (
                select
                    usage_daily_id,
                    'usage:' || subscription_id || ':' || meter_code || ':'
                    || charge_index || ':' || price_index as line_key,
                from intermediate.int_billing_usage_priced
                where price_index is not null
            ),
            final as (
                select usage.usage_date, usage.dimensions, usage.quantity,
                from marts.fct_usage_daily as usage
                inner join priced on usage.usage_daily_id = priced.usage_daily_id
                inner join line
                    on priced.line_key = line.line_key
                    and usage.customer_id = line.customer_id
                    and usage.period = line.period
            )
            select * from final order by usage_date, dimensions
            """,
            params,
            needs=(_LINES, _USAGE, _PRICED),
        )
    return run_query(
        snap,
        """
        with lines as (
            select
                *,
                try_cast(split_part(line_key, ':', -1) as integer) as price_index,
            from marts.fct_invoice_lines
            where invoice_id = $invoice_id and line_type = 'usage'
        ),
        selected as (
            select * from lines where line_no = $line_no
        ),
        usage as (
            select usage.*, row_number() over () as usage_row,
            from marts.fct_usage_daily as usage
            inner join selected
                on usage.customer_id = selected.customer_id
                and usage.period = selected.period
                and usage.meter_code = selected.meter_code
        ),
        matched as (
            select
                usage.usage_row,
                usage.usage_date,
                usage.dimensions,
                usage.quantity,
                arg_min(lines.line_no, coalesce(lines.price_index, lines.line_no))
                    as first_line_no,
            from usage
            inner join lines
                on lines.meter_code = usage.meter_code
                and (nullif(lines.dimensions, '') is null
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
        params,
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
            grant_id, kind, priority, expires_at, balance_date, balance, pending_burn,
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
            entry_at, entry_type, grant_id, kind, period, invoice_id, currency, amount,
            grant_balance_after, customer_balance_after,
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
            contract_id, customer_id, period, currency, commit_period, committed_amount,
            consumed_to_date, straight_line_to_date, pace_variance, pace_pct, projected_spend,
            projected_shortfall, at_risk, renewal_due, days_to_end, contract_end_date,
            evaluation_date, is_current,
        from marts.fct_contract_progress
        where customer_id = coalesce($customer_id, customer_id)
        order by customer_id, contract_id, period
        """,
        {"customer_id": customer_id},
        needs=(_CONTRACTS,),
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


@_cached
def alerts(snap: Snapshot, period: str) -> pl.DataFrame:
    """Thresholds crossed, hard-limit breaches and spend anomalies of the period, one list:
    alert_date, customer_id, alert_type, detail, currency, amount, reference_amount."""
    return run_query(
        snap,
        """
        with spend_alerts as (
            select * from marts.fct_spend_alerts where period = $period
        ),
        anomalies as (
            select * from marts.fct_spend_anomalies where period = $period
        ),
        thresholds as (
            select
                crossed_on as alert_date,
                customer_id,
                'threshold' as alert_type,
                cast(threshold_pct as varchar) || '% of ' || baseline_source as detail,
                currency,
                spend_to_date as amount,
                threshold_amount as reference_amount,
            from spend_alerts
            where is_crossed
        ),
        hard_limits as (
            select distinct
                hard_limit_breached_on as alert_date,
                customer_id,
                'hard_limit' as alert_type,
                'spend above the monthly budget (hard limit)' as detail,
                currency,
                spend_to_date as amount,
                monthly_budget as reference_amount,
            from spend_alerts
            where hard_limit_breached
        ),
        anomaly_days as (
            select
                spend_date as alert_date,
                customer_id,
                'anomaly' as alert_type,
                'day of ' || coalesce(cast(basis_to_median_ratio as varchar), '∞')
                    || '× the trailing median' as detail,
                currency,
                anomaly_basis as amount,
                anomaly_threshold as reference_amount,
            from anomalies
        ),
        unioned as (
            select * from thresholds
            union all
            select * from hard_limits
            union all
            select * from anomaly_days
        ),
        final as (
            select
                alert_date,
                customer_id,
                alert_type,
                detail,
                currency,
                cast(amount as decimal(38, 2)) as amount,
                cast(reference_amount as decimal(38, 2)) as reference_amount,
            from unioned
        )
        select * from final
        order by alert_date, customer_id, alert_type, detail
        """,
        {"period": period},
        needs=(_ALERTS, _ANOMALIES),
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
def scenario_totals(snap: Snapshot, scenario: str, period: str) -> pl.DataFrame:
    """One row: revenue, COGS and margin current vs simulated; invoices up, down, unchanged;
    bill shocks; customers falling below their margin target."""
    return run_query(
        snap,
        """
        with margin as (
            select
                sum(current_revenue) as current_revenue,
                sum(simulated_revenue) as simulated_revenue,
                sum(current_cogs) as current_cogs,
                sum(simulated_cogs) as simulated_cogs,
                sum(current_gross_margin) as current_margin,
                sum(simulated_gross_margin) as simulated_margin,
                count(*) filter (where falls_below_target) as below_target,
            from marts.fct_scenario_customer_margin
            where scenario = $scenario and period = $period
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
            where scenario = $scenario and period = $period
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
        {"scenario": scenario, "period": period},
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
def scenario_model_margin(snap: Snapshot, scenario: str, period: str) -> pl.DataFrame:
    """Per model: revenue and margin % current vs simulated, the largest change of margin
    first."""
    return run_query(
        snap,
        """
        with grouped as (
            select
                model,
                sum(current_revenue) as current_revenue,
                sum(simulated_revenue) as simulated_revenue,
                sum(current_cogs) as current_cogs,
                sum(simulated_cogs) as simulated_cogs,
            from marts.fct_scenario_margin
            where scenario = $scenario and period = $period
            group by model
        )
        select
            model,
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
        {"scenario": scenario, "period": period},
        needs=("marts.fct_scenario_margin",),
    )
