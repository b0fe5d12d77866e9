"""`meterline summary [--period YYYY-MM]`: a short, readable picture of the warehouse (the last
thing `make demo` prints): rows per raw table, files loaded, quarantine by reason, the period's
invoices (count, status, total by currency), unpriced usage, where the exports are, and the last
run's stage times. Read-only; every figure comes from SQL on the warehouse."""

from __future__ import annotations

from typing import Any

import duckdb
from rich.console import Console
from rich.table import Table

from orchestration.config import Settings
from orchestration.defs.quality.run_log import read_run_log
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
        out.append(
            _table("quarantined rows by reason", ["reason", "rows"], reasons)
            if reasons
            else "quarantined rows: none"
        )
        period = period or default_period(con)
        marts = _tables(con, "marts")
        if period and "fct_invoices" in marts:
            rows = con.execute(INVOICES_SQL, {"period": period}).fetchall()
            out.append(
                _table(
                    f"invoices {period}",
                    ["status", "currency", "invoices", "total", "blocked"],
                    rows,
                )
            )
        elif period:
            out.append(f"invoices {period}: marts.fct_invoices not built yet")
        out.extend(lifecycle_tables(con))
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
            n_files = sum(1 for p in export_dir.iterdir() if p.suffix == ".csv")
            out.append(
                f"period {period} closed ({closed[1]} invoices); exports: {export_dir} "
                f"({n_files} files)"
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
    if not s.warehouse.exists():
        console.print(f"no warehouse at {s.warehouse}: run `meterline run` first")
        return
    for item in summary_tables(s, period):
        console.print(item)
        console.print()
