"""`meterline close --period YYYY-MM`: freeze a billing period.

Refuses (returns False, says why, naming customers) when:
- the last pipeline run did not succeed, or a blocking check (dbt test, Great Expectations,
  ingestion invariant) failed in it (``.meterline/last_run.json``);
- the period has no invoices in ``marts.fct_invoices``;
- a non-excluded customer of the period has unpriced usage (``fct_invoices.is_blocked`` or rows in
  ``fct_unpriced_usage``);
- a non-excluded customer's COGS of the period need an exchange rate that ``reference/fx_rates.csv``
  lacks (``fct_fx_rates_missing``: the currency pair and the days are named);
- the grace period is not over, unless ``force``: "now" must be at least ``close_grace_days``
  (dbt var, default 2) past the period end in each customer's time zone, where now is the later
  of the clock (``now``, default the wall clock) and the data's last event. The clock only gates
  the close; nothing it writes depends on it.

Otherwise, in one transaction: numbers ``INV-<YYYYMM>-<NNNNN>`` in customer id order (excluded
customers get no number and stay drafts), copies the invoices and their lines from the marts into
the append-only ledger (checking that every invoice's lines sum to its total), records the close;
then writes the CSV exports from the ledger. Closing a closed period again is a no-op that says so
(it only re-creates export files that are missing).

``issued_at``/``closed_at`` are not the wall clock: they are ``as_of`` if given, else the end of
the grace period (the first day after the period + grace days, 00:00 UTC), so a re-close after a
rebuild gives byte-identical ledger rows and exports.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import yaml

from orchestration import credit_notes
from orchestration.config import DBT_PROJECT_DIR, Settings
from orchestration.exports import clean_stale_temp, export_period
from orchestration.money import money as money_text
from orchestration.run_log import read_run_log, run_lock
from orchestration.seller import SellerConfigError, load_seller
from orchestration.warehouse import connect, ensure_schema

CREDIT_NOTES_FILE = "credit_notes.csv"
PERIOD_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class CloseRefused(Exception):
    """The period cannot be closed; the message says why and names the customers."""


@dataclass
class CloseResult:
    period: str
    closed: bool
    already_closed: bool = False
    invoice_numbers: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    message: str = ""
    earlier: list[CloseResult] = field(default_factory=list)  # periods closed first (--through)


def grace_days() -> int:
    """The dbt var ``close_grace_days`` (dbt_project.yml), the single source of the default."""
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    return int((project.get("vars") or {}).get("close_grace_days", 2))


def default_issued_at(period: str, grace: int) -> dt.datetime:
    year, month = (int(x) for x in period.split("-"))
    next_month = dt.date(year + month // 12, month % 12 + 1, 1)
    return dt.datetime.combine(next_month + dt.timedelta(days=grace), dt.time())


def _relation_exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchone()
    return bool(row and row[0])


def _columns(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> set[str]:
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = ? "
        "and table_name = ?",
        [schema, name],
    ).fetchall()
    return {r[0] for r in rows}


def _seller_json(s: Settings) -> str:
    try:
        return load_seller(s.reference_dir).to_json()
    except SellerConfigError as exc:
        raise CloseRefused(str(exc)) from exc


def _check_run_log(s: Settings) -> None:
    log = read_run_log(s)
    if log is None:
        raise CloseRefused("no pipeline run recorded: run `meterline run` first")
    if log.status != "succeeded":
        raise CloseRefused(
            f"the last pipeline run {log.status} (started {log.started_at}): "
            "fix it and run `meterline run` again"
        )
    failed = log.failed_checks
    if failed:
        names = ", ".join(f"{c.asset}:{c.check}" for c in failed)
        raise CloseRefused(f"blocking checks failed in the last run: {names}")


def _blocked_customers(
    con: duckdb.DuckDBPyConnection, period: str, exclude: list[str]
) -> list[tuple[str, str]]:
    """(customer, reason) of non-excluded customers with unpriced usage in the period."""
    blocked: dict[str, str] = {}
    rows = con.execute(
        "select customer_id, coalesce(blocked_reason, 'blocked') from marts.fct_invoices "
        "where period = ? and is_blocked order by customer_id",
        [period],
    ).fetchall()
    blocked.update({c: r for c, r in rows})
    if _relation_exists(con, "marts", "fct_unpriced_usage"):
        cols = _columns(con, "marts", "fct_unpriced_usage")
        if {"customer_id", "period"} <= cols:
            rows = con.execute(
                "select customer_id, count(*) from marts.fct_unpriced_usage where period = ? "
                "group by customer_id order by customer_id",
                [period],
            ).fetchall()
            for c, n in rows:
                blocked.setdefault(c, f"{n} unpriced usage row(s) in fct_unpriced_usage")
    return sorted((c, r) for c, r in blocked.items() if c not in exclude)


def _missing_fx_rates(
    con: duckdb.DuckDBPyConnection, period: str, exclude: list[str]
) -> list[tuple[str, str, str, str]]:
    """(customer, from, to, days) of non-excluded customers of the period whose COGS need an fx
    rate that reference/fx_rates.csv lacks (``fct_fx_rates_missing``); days as text, first 5."""
    if not _relation_exists(con, "marts", "fct_fx_rates_missing"):
        return []
    rows = con.execute(
        """
        select customer_id, from_currency, to_currency,
               string_agg(strftime(rate_date, '%Y-%m-%d'), ', ' order by rate_date),
               count(*)
        from marts.fct_fx_rates_missing
        where period = ? and not list_contains(?, customer_id)
        group by customer_id, from_currency, to_currency
        order by customer_id, from_currency, to_currency
        """,
        [period, exclude],
    ).fetchall()
    out = []
    for customer, src, dst, days, n in rows:
        listed = days.split(", ")
        text = ", ".join(listed[:5]) + (f" (+{n - 5} more days)" if n > 5 else "")
        out.append((str(customer), str(src), str(dst), text))
    return out


def _grace_not_over(
    con: duckdb.DuckDBPyConnection, period: str, exclude: list[str], grace: int, now: dt.datetime
) -> tuple[str, list[tuple[str, str]]]:
    """("now" used, [(customer, grace end UTC)]) for customers whose grace is not over; now is
    the later of ``now`` (UTC) and the data's last event."""
    row = con.execute("select max(event_time) from staging.stg_usage__events").fetchone()
    last_event = row[0] if row else None
    last = max(now, last_event) if last_event is not None else now
    rows = con.execute(
        """
        with

        invoices as (

            select * from marts.fct_invoices where period = ?

        ),

        customers as (

            select * from staging.stg_reference__customers

        ),

        final as (

            select
                invoices.customer_id,
                timezone(
                    'UTC',
                    timezone(coalesce(customers.timezone, 'UTC'),
                             cast(invoices.period_end as timestamp) + to_days(?))
                ) as grace_end_utc

            from invoices
            left join customers on invoices.customer_id = customers.customer_id

        )

        select customer_id, strftime(grace_end_utc, '%Y-%m-%d %H:%M UTC')
        from final
        where grace_end_utc > timezone('UTC', cast(? as timestamp))
        order by customer_id
        """,
        [period, grace, last],
    ).fetchall()
    late = [(c, g) for c, g in rows if c not in exclude]
    return last.strftime("%Y-%m-%d %H:%M UTC"), late


NUMBERED_SQL = """
create temp table close_numbered as
with

invoices as (

    select * from marts.fct_invoices
    where period = $period
        and not list_contains($exclude, customer_id)

),

issued as (

    select * from ledger.issued_invoices
    where period = $period

),

last_number as (

    select coalesce(max(cast(right(invoice_number, 5) as integer)), 0) as n
    from issued

),

to_issue as (

    select invoices.*
    from invoices
    anti join issued
        on invoices.customer_id = issued.customer_id

),

final as (

    select
        to_issue.*,
        'INV-' || replace($period, '-', '') || '-'
            || lpad(
                cast(last_number.n + row_number() over (order by to_issue.customer_id) as varchar),
                5,
                '0'
            ) as issued_number

    from to_issue
    cross join last_number

)

select * from final
"""

INSERT_INVOICES_SQL = """
insert into ledger.issued_invoices
select
    issued_number,
    customer_id,
    period,
    cast(period_start as date),
    cast(period_end as date),
    currency,
    cast(subtotal as decimal(38, 2)),
    cast(discount_total as decimal(38, 2)),
    cast(credit_total as decimal(38, 2)),
    cast(tax_total as decimal(38, 2)),
    cast(total as decimal(38, 2)),
    cast($issued_at as timestamp),
    -- the document's header, frozen at issue (warehouse.py: the added ledger columns)
    c.c_name,
    c.c_email,
    coalesce(c.c_timezone, 'UTC'),
    c.c_terms,
    cast(cast($issued_at as timestamp) as date),
    cast(cast($issued_at as timestamp) as date) + c.c_terms,
    $seller
from close_numbered
left join (
    select customer_id as c_id, customer_name as c_name, billing_email as c_email,
        timezone as c_timezone, payment_terms_days as c_terms
    from staging.stg_reference__customers
) as c on close_numbered.customer_id = c.c_id
order by issued_number
"""

INSERT_LINES_SQL = """
insert into ledger.issued_invoice_lines
select
    n.issued_number,
    l.customer_id,
    l.period,
    cast(l.line_no as integer),
    l.line_type,
    coalesce(l.description, ''),
    l.meter_code,
    l.dimensions,
    cast(l.quantity as decimal(38, 9)),
    l.unit,
    cast(l.unit_price as decimal(38, 12)),
    cast(l.amount as decimal(38, 2)),
    l.currency,
    l.line_key,
    l.subscription_id,
    l.plan_code,
    l.plan_version,
    l.plan_name,
    l.charge_model,
    cast(l.price_per as decimal(38, 12)),
    cast(l.free_units as decimal(38, 9)),
    cast(l.billable_quantity as decimal(38, 9)),
    cast(l.package_size as decimal(38, 9)),
    l.price_basis,
    l.usage_customer_id
from marts.fct_invoice_lines as l
inner join close_numbered as n on l.invoice_id = n.invoice_id
order by n.issued_number, l.line_no
"""

INSERT_BURNS_SQL = """
insert into ledger.issued_credit_burns
select
    n.issued_number,
    b.customer_id,
    b.period,
    b.grant_id,
    cast(b.burned as decimal(38, 2)),
    cast($issued_at as timestamp)
from intermediate.int_billing_credit_burns as b
inner join close_numbered as n on b.invoice_id = n.invoice_id
where b.burned <> 0
order by n.issued_number, b.burn_rank
"""

BURNS_MISMATCH_SQL = """
with

burns as (

    select invoice_number, sum(burned) as burned
    from ledger.issued_credit_burns
    group by invoice_number

)

select n.issued_number, n.credit_total, coalesce(burns.burned, 0)
from close_numbered as n
left join burns on n.issued_number = burns.invoice_number
where cast(n.credit_total as decimal(38, 2)) <> coalesce(burns.burned, 0)
order by n.issued_number
"""

# The content hash of an issued invoice: its totals, then its lines in line_no order, as text.
# dbt_project/macros/billing/ledger.sql (issued_invoice_hashes) is the same expression; the test
# assert_issued_invoices_unchanged recomputes it every build from the ledger and from the marts.
INVOICE_HASH_SQL = """
with

lines as (

    select
        invoice_number,
        string_agg(
            concat_ws(
                '|',
                cast(line_no as varchar),
                line_type,
                coalesce(line_key, ''),
                coalesce(description, ''),
                coalesce(meter_code, ''),
                coalesce(dimensions, ''),
                coalesce(cast(cast(quantity as decimal(38, 9)) as varchar), ''),
                coalesce(unit, ''),
                coalesce(cast(cast(unit_price as decimal(38, 12)) as varchar), ''),
                cast(cast(amount as decimal(38, 2)) as varchar),
                currency
            ),
            chr(10) order by line_no
        ) as lines_text
    from ledger.issued_invoice_lines
    group by invoice_number

)

select
    i.invoice_number,
    i.customer_id,
    i.period,
    md5(
        concat_ws(
            '|',
            i.invoice_number,
            i.customer_id,
            i.period,
            i.currency,
            cast(cast(i.subtotal as decimal(38, 2)) as varchar),
            cast(cast(i.discount_total as decimal(38, 2)) as varchar),
            cast(cast(i.credit_total as decimal(38, 2)) as varchar),
            cast(cast(i.tax_total as decimal(38, 2)) as varchar),
            cast(cast(i.total as decimal(38, 2)) as varchar)
        )
        || chr(10) || coalesce(lines.lines_text, '')
    ) as content_hash,
    i.issued_at
from ledger.issued_invoices as i
left join lines on i.invoice_number = lines.invoice_number
"""

TOTALS_MISMATCH_SQL = """
with

lines as (

    select invoice_number, sum(amount) as lines_total
    from ledger.issued_invoice_lines
    where period = $period
    group by invoice_number

)

select i.invoice_number, i.total, coalesce(lines.lines_total, 0)
from ledger.issued_invoices as i
left join lines on i.invoice_number = lines.invoice_number
where i.period = $period and i.total <> coalesce(lines.lines_total, 0)
order by i.invoice_number
"""


def issue_invoices(
    con: duckdb.DuckDBPyConnection,
    period: str,
    exclude: list[str],
    issued_at: dt.datetime,
    credit_notes_csv: Path | None = None,
    seller: str | None = None,
) -> tuple[list[str], list[str]]:
    """Write the period's invoices (not excluded, not yet issued) to the ledger in one
    transaction: numbers, invoices, lines, the credit they burned per grant, their content
    hashes, the close; and the pending credit notes of ``credit_notes_csv`` (numbered
    CN-<YYYYMM>-<NNNNN>). Returns (invoice numbers, credit note numbers)."""
    params = {"period": period, "exclude": exclude}
    con.execute("begin transaction")
    try:
        con.execute("drop table if exists close_numbered")
        con.execute(NUMBERED_SQL, params)
        con.execute(INSERT_INVOICES_SQL, {"issued_at": issued_at, "seller": seller})
        con.execute(INSERT_LINES_SQL)
        bad = con.execute(TOTALS_MISMATCH_SQL, {"period": period}).fetchall()
        if bad:
            raise CloseRefused(
                "invoice lines do not sum to the invoice total: "
                + ", ".join(f"{n} total {t} lines {s}" for n, t, s in bad[:10])
            )
        if _relation_exists(con, "intermediate", "int_billing_credit_burns"):
            con.execute(INSERT_BURNS_SQL, {"issued_at": issued_at})
        bad = con.execute(BURNS_MISMATCH_SQL).fetchall()
        if bad:
            raise CloseRefused(
                "credit applied differs from the grants' burns (rebuild with `meterline run`): "
                + ", ".join(f"{n} credit {c} burns {b}" for n, c, b in bad[:10])
            )
        numbers = [
            r[0]
            for r in con.execute(
                "select issued_number from close_numbered order by issued_number"
            ).fetchall()
        ]
        con.execute(
            "insert into ledger.issued_invoice_hashes "
            f"select * from ({INVOICE_HASH_SQL}) where list_contains($numbers, invoice_number) "
            "order by invoice_number",
            {"numbers": numbers},
        )
        notes: list[str] = []
        if credit_notes_csv is not None:
            try:
                notes = credit_notes.issue(con, credit_notes_csv, period, issued_at)
            except credit_notes.CreditNoteError as err:
                raise CloseRefused(str(err)) from None
        con.execute(
            "insert into ledger.period_closes values (?, ?, ?, ?)",
            [period, issued_at, len(numbers), ",".join(sorted(exclude)) or None],
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.execute("drop table if exists close_numbered")
    return numbers, notes


OPEN_EARLIER_SQL = """
with

invoices as (

    select customer_id, period from marts.fct_invoices

),

issued as (

    select customer_id, period from ledger.issued_invoices

),

open_invoices as (

    select invoices.customer_id, invoices.period
    from invoices
    anti join issued
        on invoices.customer_id = issued.customer_id and invoices.period = issued.period
    where not list_contains($exclude, invoices.customer_id)

),

targets as (

    select customer_id from open_invoices where period = $period

),

final as (

    select open_invoices.period, open_invoices.customer_id
    from open_invoices
    inner join targets on open_invoices.customer_id = targets.customer_id
    where open_invoices.period < $period

)

select period, list(customer_id order by customer_id)
from final
group by period
order by period
"""

OPEN_THROUGH_SQL = """
select distinct invoices.period
from marts.fct_invoices as invoices
anti join ledger.issued_invoices as issued
    on invoices.customer_id = issued.customer_id and invoices.period = issued.period
where invoices.period < $period and not list_contains($exclude, invoices.customer_id)
order by invoices.period
"""


def open_earlier_periods(
    con: duckdb.DuckDBPyConnection, period: str, exclude: list[str]
) -> list[tuple[str, list[str]]]:
    """[(earlier period, [customers])]: for each customer that ``period`` would issue (not
    excluded, not yet issued), its periods before ``period`` that are not issued. A period can be
    issued for a customer only when every earlier period of the customer is (issue 17)."""
    rows = con.execute(OPEN_EARLIER_SQL, {"period": period, "exclude": exclude}).fetchall()
    return [(str(p), list(c)) for p, c in rows]


def _names(customers: list[str], limit: int = 5) -> str:
    more = f" +{len(customers) - limit} more" if len(customers) > limit else ""
    return ", ".join(customers[:limit]) + more


def close_period(
    s: Settings,
    period: str,
    exclude: list[str],
    *,
    force: bool = False,
    as_of: dt.datetime | None = None,
    now: dt.datetime | None = None,
    through: bool = False,
    echo: Callable[[str], None] = print,
) -> bool:
    """Close ``period`` (see the module doc). True when the period is closed (now or before).
    ``as_of``: issued_at/closed_at to record (UTC, naive); ``now``: the clock for the grace
    check (UTC, naive; default the wall clock). ``through``: first close, in order, every
    earlier period that is still open for a customer (else such a period refuses the close)."""
    try:
        result = close_period_result(
            s, period, exclude, force=force, as_of=as_of, now=now, through=through
        )
    except CloseRefused as refused:
        echo(f"refused to close {period}: {refused}")
        return False
    echo(result.message)
    return True


def close_period_result(
    s: Settings,
    period: str,
    exclude: list[str],
    *,
    force: bool = False,
    as_of: dt.datetime | None = None,
    now: dt.datetime | None = None,
    through: bool = False,
) -> CloseResult:
    if not PERIOD_RE.match(period):
        raise CloseRefused(f"period must be YYYY-MM, got {period!r}")
    with run_lock(s) as locked:
        if not locked:
            raise CloseRefused(
                locked.reason
                if locked.warehouse_busy
                else f"a meterline run is in progress on {s.data_dir}; close after it"
            )
        exclude = sorted(set(exclude))
        clean_stale_temp(s)
        with connect(s.warehouse) as con:
            ensure_schema(con)
            earlier: list[CloseResult] = []
            if through and _relation_exists(con, "marts", "fct_invoices"):
                open_periods = [
                    r[0]
                    for r in con.execute(
                        OPEN_THROUGH_SQL, {"period": period, "exclude": exclude}
                    ).fetchall()
                ]
                for p in open_periods:
                    earlier.append(
                        _close_one(s, con, p, exclude, force=force, as_of=as_of, now=now)
                    )
            result = _close_one(s, con, period, exclude, force=force, as_of=as_of, now=now)
        if earlier:
            result.earlier = earlier
            result.message = "\n".join([r.message for r in earlier] + [result.message])
        return result


def _close_one(
    s: Settings,
    con: duckdb.DuckDBPyConnection,
    period: str,
    exclude: list[str],
    *,
    force: bool,
    as_of: dt.datetime | None,
    now: dt.datetime | None,
) -> CloseResult:
    done = con.execute(
        "select min(closed_at), sum(invoice_count) from ledger.period_closes where period = ?",
        [period],
    ).fetchone()
    issued_customers = [
        r[0]
        for r in con.execute(
            "select customer_id from ledger.issued_invoices where period = ?", [period]
        ).fetchall()
    ]
    pending: list[str] = []
    if done is not None and done[0] is not None and _relation_exists(con, "marts", "fct_invoices"):
        pending = [
            r[0]
            for r in con.execute(
                "select customer_id from marts.fct_invoices where period = ? "
                "and not list_contains(?, customer_id) and not list_contains(?, customer_id) "
                "order by customer_id",
                [period, exclude, issued_customers],
            ).fetchall()
        ]
    if done is not None and done[0] is not None and not pending:
        export = export_period(s, con, period)
        repaired = (
            f"; re-created {len(export.written)} missing export file(s)" if export.written else ""
        )
        return CloseResult(
            period,
            closed=True,
            already_closed=True,
            message=(
                f"{period} is already closed (closed_at {done[0]}, {done[1]} invoices): "
                f"nothing to do{repaired}. Exports: {export.directory}"
            ),
        )
    skip = sorted(set(exclude) | set(issued_customers))
    _check_run_log(s)
    if not _relation_exists(con, "marts", "fct_invoices"):
        raise CloseRefused("marts.fct_invoices does not exist: run `meterline run` first")
    customers = [
        r[0]
        for r in con.execute(
            "select customer_id from marts.fct_invoices where period = ? order by customer_id",
            [period],
        ).fetchall()
    ]
    if not customers:
        raise CloseRefused(f"no invoices for {period} in marts.fct_invoices")
    blocked = _blocked_customers(con, period, skip)
    if blocked:
        raise CloseRefused(
            "unpriced usage for "
            + "; ".join(f"{c} ({r})" for c, r in blocked)
            + ". Add a price and re-run, or exclude them: "
            + " ".join(f"--exclude {c}" for c, _ in blocked)
        )
    missing_rates = _missing_fx_rates(con, period, skip)
    if missing_rates:
        raise CloseRefused(
            "no exchange rate for "
            + "; ".join(f"{src}->{dst} on {days} ({c})" for c, src, dst, days in missing_rates)
            + ": their COGS cannot be converted to the customer's currency "
            "(marts.fct_fx_rates_missing). Add the rates to reference/fx_rates.csv "
            "(date,from_currency,to_currency,rate) and re-run, or exclude them: "
            + " ".join(f"--exclude {c}" for c in sorted({r[0] for r in missing_rates}))
        )
    grace = grace_days()
    if not force:
        clock = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
        last, late = _grace_not_over(con, period, skip, grace, clock)
        if late:
            raise CloseRefused(
                f"grace period ({grace} days) not over at {last}: "
                + ", ".join(f"{c} until {g}" for c, g in late[:10])
                + (f" (+{len(late) - 10} more)" if len(late) > 10 else "")
                + ". Use --force to close anyway."
            )
    open_earlier = open_earlier_periods(con, period, exclude)
    if open_earlier:
        first = open_earlier[0][0]
        raise CloseRefused(
            "periods close in order per customer, and earlier periods are still open: "
            + "; ".join(f"{p} ({_names(c)})" for p, c in open_earlier)
            + f". Close them first (`meterline close --period {first}`), close them in "
            f"order with this one (`meterline close --through {period}`), or --exclude "
            "those customers."
        )
    issued_at = as_of or default_issued_at(period, grace)
    numbers, notes = issue_invoices(
        con,
        period,
        exclude,
        issued_at,
        s.data_dir / "reference" / CREDIT_NOTES_FILE,
        seller=_seller_json(s),
    )
    totals = con.execute(
        "select currency, sum(total) from ledger.issued_invoices where period = ? "
        "group by currency order by currency",
        [period],
    ).fetchall()
    export = export_period(s, con, period)
    unknown = [c for c in exclude if c not in customers]
    money = ", ".join(f"{cur} {money_text(amt, cur)}" for cur, amt in totals)
    message = (
        f"closed {period}: {len(numbers)} invoices ({numbers[0]} .. {numbers[-1]})"
        if numbers
        else f"closed {period}: 0 invoices"
    )
    message += f", total {money}" if money else ""
    message += f"; excluded: {', '.join(exclude)}" if exclude else ""
    message += f" (not in the period: {', '.join(unknown)})" if unknown else ""
    message += f"; credit notes: {', '.join(notes)}" if notes else ""
    message += f". Exports: {export.directory}."
    return CloseResult(
        period, closed=True, invoice_numbers=numbers, excluded=exclude, message=message
    )
