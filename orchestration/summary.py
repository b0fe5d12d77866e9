"""`meterline summary [--period YYYY-MM]`: a short, readable picture of the warehouse (the last
thing `make demo` prints): rows per raw table, files loaded, rejected files, quarantine by reason,
the period's invoices one by one (number, customer, status, total, and for issued invoices the
paths of their CSV and PDF under the data directory), totals by status and currency, the period's
gross margin, its spend alerts, unpriced usage, where the exports are, and the last run's stage
times. Read-only; every figure comes from SQL on the warehouse."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from rich.console import Console
from rich.table import Table

from orchestration.config import Settings
from orchestration.controls_report import controls_lines
from orchestration.money import money
from orchestration.run_log import read_run_log
from orchestration.warehouse import connect


def _tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables where table_schema = ? "
            "order by table_name",
            [schema],
        ).fetchall()
    ]


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> set[str]:
    return {
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_schema = ? "
            "and table_name = ?",
            [schema, table],
        ).fetchall()
    }


def _table(title: str, headers: list[str], rows: list[tuple[Any, ...]]) -> Table:
    t = Table(title=title, title_justify="left", show_edge=False)
    for i, h in enumerate(headers):
        t.add_column(h, justify="left" if i == 0 else "right")
    for row in rows:
        t.add_row(*("" if v is None else str(v) for v in row))
    return t


def default_period(con: duckdb.DuckDBPyConnection) -> str | None:
    """The last closed period, else the last period with invoices."""
    row = con.execute("select max(period) from ledger.period_closes").fetchone()
    if row and row[0]:
        return str(row[0])
    if "fct_invoices" in _tables(con, "marts"):
        row = con.execute("select max(period) from marts.fct_invoices").fetchone()
        return str(row[0]) if row and row[0] else None
    return None


INVOICES_SQL = """
with

invoices as (

    select * from marts.fct_invoices where period = $period

),

issued as (

    select * from ledger.issued_invoices where period = $period

),

final as (

    select
        case when issued.invoice_number is not null then 'issued'
             else invoices.status end as status,
        coalesce(issued.currency, invoices.currency) as currency,
        coalesce(issued.total, invoices.total) as total,
        coalesce(invoices.is_blocked, false) as is_blocked

    from invoices
    full outer join issued
        on invoices.customer_id = issued.customer_id

)

select status, currency, count(*), sum(total), count(*) filter (where is_blocked)
from final
group by status, currency
order by status, currency
"""


INVOICE_LIST_SQL = """
with

invoices as (

    select * from marts.fct_invoices where period = $period

),

issued as (

    select * from ledger.issued_invoices where period = $period

),

customers as (

    select * from staging.stg_reference__customers

)

select
    coalesce(issued.invoice_number, '(draft)') as number,
    coalesce(invoices.customer_id, issued.customer_id) as customer_id,
    coalesce(customers.customer_name, coalesce(invoices.customer_id, issued.customer_id))
        as customer_name,
    case when issued.invoice_number is not null then 'issued' else invoices.status end as status,
    coalesce(issued.currency, invoices.currency) as currency,
    coalesce(issued.total, invoices.total) as total
from invoices
full outer join issued
    on invoices.customer_id = issued.customer_id
left join customers
    on coalesce(invoices.customer_id, issued.customer_id) = customers.customer_id
order by issued.invoice_number nulls last, 2
"""

MARGIN_SQL = """
select
    currency,
    count(*) as customers,
    sum(revenue) as revenue,
    sum(cogs_total) as cogs,
    sum(gross_margin) as gross_margin,
    case when sum(revenue) <> 0
        then cast(round(100 * sum(gross_margin) / sum(revenue), 1) as decimal(9, 1))
    end as margin_pct,
    count(*) filter (where margin_flag = 'below_target') as below_target,
    count(*) filter (where margin_flag = 'missing_fx_rate') as missing_fx_rate
from marts.fct_customer_margin
where period = $period
group by currency
order by currency
"""

# customers billed in a currency other than the one their COGS is booked in (issue 22)
CURRENCIES_SQL = """
select
    margin.customer_id,
    coalesce(customers.customer_name, margin.customer_id) as customer_name,
    margin.currency,
    margin.revenue,
    margin.cost_currency,
    margin.cogs_total_cost_currency,
    margin.cogs_total,
    margin.gross_margin,
    margin.fx_status,
    margin.missing_fx_rate_days
from marts.fct_customer_margin as margin
left join staging.stg_reference__customers as customers
    on margin.customer_id = customers.customer_id
where margin.period = $period and margin.currency <> margin.cost_currency
order by margin.customer_id
"""

# customers on credit plans (issue 22): credits granted, consumed, remaining and the overage
CREDIT_PLANS_SQL = """
select
    credit.customer_id,
    coalesce(customers.customer_name, credit.customer_id) as customer_name,
    credit.allowance_granted,
    credit.rollover_in,
    credit.packs_granted,
    credit.credits_consumed,
    credit.overage_credits,
    credit.currency,
    credit.overage_amount,
    credit.credits_remaining,
    credit.forfeited,
    margin.margin_per_credit
from marts.fct_credit_periods as credit
left join staging.stg_reference__customers as customers
    on credit.customer_id = customers.customer_id
left join marts.fct_credit_margin as margin
    on credit.invoice_id = margin.invoice_id
where credit.period = $period
order by credit.customer_id
"""

ALERTS_SQL = """
with

crossed as (

    select
        customer_id,
        currency,
        max(threshold_pct) as highest_pct,
        any_value(spend_to_date) as spend_to_date,
        any_value(baseline_amount) as baseline_amount,
        bool_or(hard_limit_breached) as hard_limit_breached
    from marts.fct_spend_alerts
    where period = $period and is_crossed
    group by customer_id, currency

)

select
    crossed.customer_id,
    coalesce(customers.customer_name, crossed.customer_id) as customer_name,
    crossed.currency,
    cast(crossed.highest_pct as decimal(9, 0)) as highest_pct,
    crossed.spend_to_date,
    crossed.baseline_amount,
    crossed.hard_limit_breached
from crossed
left join staging.stg_reference__customers as customers
    on crossed.customer_id = customers.customer_id
order by crossed.highest_pct desc, crossed.spend_to_date desc, crossed.customer_id
"""

# the number of alert rows listed; the rest are counted
ALERTS_SHOWN = 10

PERIODS_SQL = """
with

invoices as (

    select customer_id, period, currency, total from marts.fct_invoices

),

issued as (

    select customer_id, period, currency, total from ledger.issued_invoices

),

final as (

    select
        coalesce(invoices.period, issued.period) as period,
        coalesce(issued.currency, invoices.currency) as currency,
        issued.customer_id is not null as is_issued,
        coalesce(issued.total, invoices.total) as total

    from invoices
    full outer join issued
        on invoices.customer_id = issued.customer_id and invoices.period = issued.period

)

select
    period,
    currency,
    count(*) filter (where is_issued),
    coalesce(sum(total) filter (where is_issued), 0),
    count(*) filter (where not is_issued),
    coalesce(sum(total) filter (where not is_issued), 0)
from final
group by period, currency
order by period, currency
"""

# drafts of periods before the last period with an issued invoice of another customer or of the
# same customer: they block closing the later periods of those customers (issue 17)
OPEN_EARLIER_SQL = """
with

last_closed as (

    select max(period) as period from ledger.issued_invoices

),

drafts as (

    select invoices.customer_id, invoices.period
    from marts.fct_invoices as invoices
    anti join ledger.issued_invoices as issued
        on invoices.customer_id = issued.customer_id and invoices.period = issued.period

)

select drafts.period, count(*), list(drafts.customer_id order by drafts.customer_id)[1:5]
from drafts
cross join last_closed
where drafts.period <= last_closed.period
group by drafts.period
order by drafts.period
"""

CREDIT_NOTES_SQL = """
select credit_note_number, invoice_number, line_no, settlement, currency, total
from ledger.issued_credit_notes
order by credit_note_number
"""


def lifecycle_tables(con: duckdb.DuckDBPyConnection) -> list[Table | str]:
    """Issued vs draft per period, drafts left open in closed periods, credit notes."""
    out: list[Table | str] = []
    if "fct_invoices" not in _tables(con, "marts"):
        return out
    out.append(
        _table(
            "invoices by period (issued vs draft)",
            ["period", "currency", "issued", "issued total", "draft", "draft total"],
            con.execute(PERIODS_SQL).fetchall(),
        )
    )
    rows = con.execute(OPEN_EARLIER_SQL).fetchall()
    out.append(
        _table(
            "drafts open in closed periods (later periods of these customers cannot close)",
            ["period", "customers", "first customers"],
            [(p, n, ", ".join(c)) for p, n, c in rows],
        )
        if rows
        else "drafts open in closed periods: none"
    )
    if "issued_credit_notes" in _tables(con, "ledger"):
        notes = con.execute(CREDIT_NOTES_SQL).fetchall()
        title = f"credit notes ({len(notes)}" + (", the last 10)" if len(notes) > 10 else ")")
        out.append(
            _table(
                title,
                ["note", "invoice", "line", "settlement", "currency", "total"],
                notes[-10:],
            )
            if notes
            else "credit notes: none"
        )
    return out


def _rejected_files(con: duckdb.DuckDBPyConnection) -> Table | str:
    """Files the loader rejected as a whole (a `status` of `rejected` in the manifest). A
    warehouse whose manifest has no status column records no rejected files."""
    cols = _columns(con, "raw", "load_manifest")
    if "status" not in cols:
        return "rejected files: none (this warehouse's manifest records no file status)"
    reason = next(
        (
            c
            for c in ("reason", "rejected_reason", "status_reason", "error", "message")
            if c in cols
        ),
        None,
    )
    reason_sql = f"cast({reason} as varchar)" if reason else "''"
    rows = con.execute(
        f"select file_path, {reason_sql} from raw.load_manifest where status = 'rejected' "
        "order by file_path"
    ).fetchall()
    if not rows:
        return "rejected files: none"
    return _table(f"rejected files ({len(rows)})", ["file", "reason"], rows)


def _invoice_list(s: Settings, con: duckdb.DuckDBPyConnection, period: str) -> list[Table | str]:
    rows = con.execute(INVOICE_LIST_SQL, {"period": period}).fetchall()
    export_dir = s.exports_dir / "invoices" / period
    table_rows = []
    for number, customer_id, name, status, currency, total in rows:
        csv_path = pdf_path = ""
        if status == "issued":
            for ext in ("csv", "pdf"):
                path = export_dir / f"{number}.{ext}"
                shown = _relative(s, path) if path.is_file() else f"missing: {_relative(s, path)}"
                if ext == "csv":
                    csv_path = shown
                else:
                    pdf_path = shown
        label = name if name == customer_id else f"{name} ({customer_id})"
        shown_total = f"{currency} {money(total, currency)}" if total is not None else ""
        table_rows.append((number, label, status, shown_total, csv_path, pdf_path))
    return [
        _table(
            f"invoices {period} ({len(rows)}; paths relative to {s.data_dir})",
            ["number", "customer", "status", "total", "CSV", "PDF"],
            table_rows,
        )
    ]


def _relative(s: Settings, path: Path) -> str:
    try:
        return str(path.relative_to(s.data_dir))
    except ValueError:
        return str(path)


def _margin_and_alerts(con: duckdb.DuckDBPyConnection, period: str) -> list[Table | str]:
    out: list[Table | str] = []
    marts = _tables(con, "marts")
    if "fct_customer_margin" in marts:
        rows = con.execute(MARGIN_SQL, {"period": period}).fetchall()
        out.append(
            _table(
                f"gross margin {period}",
                [
                    "currency",
                    "customers",
                    "revenue",
                    "COGS",
                    "gross margin",
                    "margin %",
                    "below target",
                    "missing fx rate",
                ],
                rows,
            )
            if rows
            else f"gross margin {period}: no revenue or COGS"
        )
    if "fct_customer_margin" in marts and "cost_currency" in _columns(
        con, "marts", "fct_customer_margin"
    ):
        out.append(_currencies(con, period))
    if "fct_invoice_lines" in marts and "usage_customer_id" in _columns(
        con, "marts", "fct_invoice_lines"
    ):
        out.append(_accounts(con, period))
    if {"fct_credit_periods", "fct_credit_margin"} <= set(marts):
        out.append(_credit_plans(con, period))
    if "fct_spend_alerts" in marts:
        rows = con.execute(ALERTS_SQL, {"period": period}).fetchall()
        if not rows:
            out.append(f"spend alerts {period}: no threshold crossed")
        else:
            shown = [
                (
                    f"{name} ({cid})" if name != cid else cid,
                    f"{pct}%",
                    f"{cur} {spend}",
                    f"{cur} {base}" if base is not None else "",
                    "breached" if hard else "",
                )
                for cid, name, cur, pct, spend, base, hard in rows[:ALERTS_SHOWN]
            ]
            more = f", the {ALERTS_SHOWN} highest shown" if len(rows) > ALERTS_SHOWN else ""
            out.append(
                _table(
                    f"spend alerts {period}: {len(rows)} customers crossed a threshold{more}",
                    ["customer", "highest crossed", "spend", "baseline", "hard limit"],
                    shown,
                )
            )
    return out


ACCOUNTS_SQL = """
with

child_lines as (

    select
        invoice_id,
        usage_customer_id,
        count(*) as line_count,
        sum(amount) as amount
    from marts.fct_invoice_lines
    where period = $period and usage_customer_id <> customer_id
    group by invoice_id, usage_customer_id

)

select
    invoices.customer_id,
    coalesce(customers.customer_name, invoices.customer_id),
    coalesce(invoices.invoice_number, 'draft'),
    invoices.currency,
    string_agg(
        child_lines.usage_customer_id || ' (' || child_lines.line_count || ' lines, '
        || cast(child_lines.amount as varchar) || ')',
        ', ' order by child_lines.usage_customer_id
    ),
    invoices.total
from child_lines
inner join marts.fct_invoices as invoices on child_lines.invoice_id = invoices.invoice_id
left join staging.stg_reference__customers as customers
    on invoices.customer_id = customers.customer_id
group by all
order by invoices.customer_id
"""


def _accounts(con: duckdb.DuckDBPyConnection, period: str) -> Table | str:
    """Accounts (issue 22): which parent invoice carries which children (customers.csv
    bill_to_parent), with the children's lines and amounts before account-level lines."""
    rows = con.execute(ACCOUNTS_SQL, {"period": period}).fetchall()
    if not rows:
        return f"accounts {period}: no child billed to its parent (customers.csv bill_to_parent)"
    shown = [
        (f"{name} ({cid})" if name != cid else cid, number, children, f"{cur} {money(total, cur)}")
        for cid, name, number, cur, children, total in rows
    ]
    return _table(
        f"accounts {period}: children billed on their parent's invoice (customers.csv "
        "bill_to_parent; lines grouped by child, the parent's contract and credits over the "
        "account)",
        ["parent", "invoice", "children (their lines, amount)", "invoice total"],
        shown,
    )


def _currencies(con: duckdb.DuckDBPyConnection, period: str) -> Table | str:
    """Customers invoiced in another currency than their COGS: the revenue in their currency,
    the COGS as booked and as converted with the rates of reference/fx_rates.csv."""
    rows = con.execute(CURRENCIES_SQL, {"period": period}).fetchall()
    if not rows:
        return f"currencies {period}: every customer is invoiced in the COGS currency"
    rates: tuple[Any, ...] = (0, None, None)
    if "fx_rates" in _tables(con, "raw"):
        found = con.execute("select count(*), min(date), max(date) from raw.fx_rates").fetchone()
        rates = found or rates
    shown = []
    for cid, name, cur, revenue, cost_cur, cogs_cost, cogs, margin, status, missing in rows:
        shown.append(
            (
                f"{name} ({cid})" if name != cid else cid,
                f"{cur} {money(revenue, cur)}",
                f"{cost_cur} {money(cogs_cost, cost_cur)}",
                f"{cur} {money(cogs, cur)}" if cogs is not None else "not converted",
                f"{cur} {money(margin, cur)}" if margin is not None else "",
                status if not missing else f"{status} ({missing} days)",
            )
        )
    return _table(
        f"currencies {period}: invoiced in the customer's currency, COGS converted at the day's "
        f"rate (reference/fx_rates.csv: {rates[0]} rates, {rates[1]} to {rates[2]}; "
        "missing rates: marts.fct_fx_rates_missing)",
        ["customer", "revenue", "COGS as booked", "COGS converted", "gross margin", "fx"],
        shown,
    )


def _credits(x: Any) -> str:
    """Credit units (DECIMAL(38,6)) as 12,345.678: thousands separated, no trailing zeros."""
    if x is None:
        return ""
    text = f"{Decimal(x):,.6f}".rstrip("0").rstrip(".")
    return text or "0"


def _credit_plans(con: duckdb.DuckDBPyConnection, period: str) -> Table | str:
    """Customers on credit plans: credits granted, consumed, overage (credits and money),
    remaining, forfeited above the rollover cap, and the margin per credit consumed."""
    rows = con.execute(CREDIT_PLANS_SQL, {"period": period}).fetchall()
    if not rows:
        return f"credit plans {period}: no customer on a credit plan"
    shown = []
    for cid, name, allow, rolled, packs, used, over, cur, over_amt, left, lost, mpc in rows:
        shown.append(
            (
                f"{name} ({cid})" if name != cid else cid,
                _credits(allow),
                _credits(rolled),
                _credits(packs),
                _credits(used),
                _credits(over),
                f"{cur} {money(over_amt, cur)}",
                _credits(left),
                _credits(lost),
                f"{cur} {Decimal(mpc).quantize(Decimal('0.0001'))}" if mpc is not None else "",
            )
        )
    return _table(
        f"credit plans {period}: credits drawn rolled-over first, then the allowance, then packs; "
        "overage billed per credit (marts.fct_credit_periods, fct_credit_ledger, "
        "fct_credit_margin)",
        [
            "customer",
            "allowance",
            "rolled in",
            "packs",
            "consumed",
            "overage",
            "overage billed",
            "remaining",
            "forfeited",
            "margin / credit",
        ],
        shown,
    )


def summary_tables(s: Settings, period: str | None) -> list[Table | str]:
    out: list[Table | str] = []
    with connect(s.warehouse, read_only=True) as con:
        raw_rows = [
            (t, con.execute(f"select count(*) from raw.{t}").fetchone()[0])  # type: ignore[index]
            for t in _tables(con, "raw")
        ]
        out.append(_table("raw tables", ["table", "rows"], [r for r in raw_rows if r[1]]))
        files = con.execute(
            "select source, count(*), sum(raw_rows), sum(loaded_rows), sum(duplicate_rows), "
            "sum(quarantined_rows) from raw.load_manifest group by source order by source"
        ).fetchall()
        out.append(
            _table(
                "files loaded",
                ["source", "files", "raw", "loaded", "duplicates", "quarantined"],
                files,
            )
        )
        reasons = con.execute(
            "select reason_code, count(*) from raw.quarantine group by reason_code "
            "order by reason_code"
        ).fetchall()
        out.append(_rejected_files(con))
        out.append(
            _table("quarantined rows by reason", ["reason", "rows"], reasons)
            if reasons
            else "quarantined rows: none"
        )
        period = period or default_period(con)
        marts = _tables(con, "marts")
        if period and "fct_invoices" in marts:
            out.extend(_invoice_list(s, con, period))
            rows = con.execute(INVOICES_SQL, {"period": period}).fetchall()
            out.append(
                _table(
                    f"invoice totals by status {period}",
                    ["status", "currency", "invoices", "total", "blocked"],
                    rows,
                )
            )
        elif period:
            out.append(f"invoices {period}: marts.fct_invoices not built yet")
        out.extend(lifecycle_tables(con))
        if period:
            out.extend(_margin_and_alerts(con, period))
        if "fct_unpriced_usage" in marts:
            cols = _columns(con, "marts", "fct_unpriced_usage")
            if period and "period" in cols:
                n = con.execute(
                    "select count(*) from marts.fct_unpriced_usage where period = ?", [period]
                ).fetchone()
                label = f"unpriced usage rows ({period})"
            else:
                n = con.execute("select count(*) from marts.fct_unpriced_usage").fetchone()
                label = "unpriced usage rows"
            out.append(f"{label}: {n[0] if n else 0}")
        out += controls_lines(s, con)
        closed = (
            con.execute(
                "select closed_at, invoice_count from ledger.period_closes where period = ?",
                [period],
            ).fetchone()
            if period
            else None
        )
    if period:
        export_dir = s.exports_dir / "invoices" / period
        if closed is not None and export_dir.is_dir():
            kinds = {
                ext: sum(1 for p in export_dir.glob(f"INV-*.{ext}"))
                for ext in ("csv", "html", "pdf")
            }
            has_summary = (export_dir / "summary.csv").is_file()
            out.append(
                f"period {period} closed ({closed[1]} invoices); exports: {export_dir} "
                f"({kinds['csv']} CSV, {kinds['html']} HTML, {kinds['pdf']} PDF"
                + (", summary.csv)" if has_summary else ", no summary.csv)")
            )
        else:
            out.append(
                f"period {period} open (draft invoices); close it with "
                f"`meterline close --period {period}`"
            )
    log = read_run_log(s)
    if log is not None:
        stages = ", ".join(f"{st.name} {st.seconds:.1f}s" for st in log.stages)
        out.append(f"last run: {log.status} ({stages})")
        if log.failed_checks:
            out.append(
                "failed checks: " + ", ".join(f"{c.asset}:{c.check}" for c in log.failed_checks)
            )
    return out


def print_summary(s: Settings, period: str | None) -> None:
    console = Console()
    if not console.is_terminal:  # piped or captured (make demo's log): no 80-column wrapping
        console = Console(width=200)
    if not s.warehouse.exists():
        console.print(f"no warehouse at {s.warehouse}: run `meterline run` first")
        return
    for item in summary_tables(s, period):
        console.print(item)
        console.print()
