"""Invoice exports of a closed period, written from the ledger (never from the marts, so an
issued invoice's files never change).

Layout (ARCHITECTURE.md): ``exports/invoices/<YYYY-MM>/<invoice_number>.csv`` (one row per line)
plus ``summary.csv`` (one row per invoice), and beside each CSV the invoice as a document a finance
team sends: ``<invoice_number>.html`` and ``<invoice_number>.pdf`` (rendered from the HTML by
WeasyPrint; orchestration/documents.py). The documents are written once: a re-close or a run
re-creates a missing one and keeps an existing one byte for byte; the CSVs are derived from the
ledger again (the same ledger gives the same bytes).

CSV columns: the contract's columns first, in the contract's order (``LINE_COLUMNS``,
``SUMMARY_COLUMNS``), then the added ones (``LINE_EXTRA_COLUMNS``, ``SUMMARY_EXTRA_COLUMNS``).
``period_end`` is exclusive (the contract's meaning: the first day after the period);
``period_last_day`` states the last day, inclusive. Every line can be checked from its own row:
``round(billable_quantity × unit_price / price_per) = amount`` for per_unit and subscription
lines (price_per empty = 1; billable_quantity = quantity − free_units), ceil(billable_quantity /
package_size) × unit_price for package lines, and the tier arithmetic in ``price_basis`` for
graduated and volume lines. ``summary.csv``: every component column carries the sign it has on the
invoice (charges positive, discounts and credits negative), so ``fees_total + usage_total +
adjustment_total + discount_total + minimum_commitment_total + credit_total + tax_total = total``;
``subtotal`` is the total before credits and tax.

Amounts have 2 places, quantities and unit prices are plain decimals (never scientific), text cells
starting with ``= + - @`` (or tab / CR) are prefixed with ``'`` so a spreadsheet shows them as text;
numeric cells (``-25.96``) are numbers and are not escaped. Encoding: UTF-8 with a byte-order mark
(Excel then reads "·" and "×" right; other readers skip it: Python's ``utf-8-sig``, DuckDB's
read_csv), ``\\n`` line ends, no wall clock anywhere: the same ledger gives the same bytes.

Atomicity: files are written under ``<data_dir>/.meterline/tmp/`` (same file system) and moved in
with ``os.replace``; a period directory that does not exist yet is moved in whole. A process
killed midway leaves at most a stale temp directory outside ``exports/``, removed on the next call.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from orchestration.config import Settings
from orchestration.money import money, plain_decimal

LINE_COLUMNS: tuple[str, ...] = (
    "invoice_number",
    "customer_id",
    "period_start",
    "period_end",
    "line_no",
    "line_type",
    "description",
    "meter",
    "dimensions",
    "quantity",
    "unit",
    "unit_price",
    "amount",
    "currency",
)
SUMMARY_COLUMNS: tuple[str, ...] = (
    "invoice_number",
    "customer_id",
    "period",
    "period_start",
    "period_end",
    "currency",
    "line_count",
    "subtotal",
    "discount_total",
    "credit_total",
    "tax_total",
    "total",
)
# Added after the contract's columns (ARCHITECTURE.md): the invoice's header on every line, the
# subscription and plan, and what makes the line checkable.
LINE_EXTRA_COLUMNS: tuple[str, ...] = (
    "period_last_day",
    "customer_name",
    "issue_date",
    "due_date",
    "timezone",
    "subscription_id",
    "plan_code",
    "plan_version",
    "plan_name",
    "charge_model",
    "price_per",
    "free_units",
    "billable_quantity",
    "package_size",
    "price_basis",
    # accounts (issue 22): whose usage the line is (a child billed to the invoice's customer)
    "usage_customer_id",
)
SUMMARY_EXTRA_COLUMNS: tuple[str, ...] = (
    "customer_name",
    "period_last_day",
    "timezone",
    "issue_date",
    "due_date",
    "payment_terms_days",
    "fees_total",
    "usage_total",
    "adjustment_total",
    "minimum_commitment_total",
)
EXPORT_LINE_COLUMNS = LINE_COLUMNS + LINE_EXTRA_COLUMNS
EXPORT_SUMMARY_COLUMNS = SUMMARY_COLUMNS + SUMMARY_EXTRA_COLUMNS
TEXT_LINE_COLUMNS = frozenset(
    {
        "invoice_number",
        "customer_id",
        "line_type",
        "description",
        "meter",
        "dimensions",
        "unit",
        "currency",
        "customer_name",
        "timezone",
        "subscription_id",
        "plan_code",
        "plan_name",
        "charge_model",
        "price_basis",
        "usage_customer_id",
    }
)
TEXT_SUMMARY_COLUMNS = frozenset(
    {"invoice_number", "customer_id", "period", "currency", "customer_name", "timezone"}
)
CREDIT_NOTE_COLUMNS: tuple[str, ...] = (
    "credit_note_number",
    "credit_note_id",
    "customer_id",
    "invoice_number",
    "invoice_period",
    "line_no",
    "line_type",
    "quantity",
    "reason",
    "settlement",
    "currency",
    "amount",
    "tax",
    "total",
)
TEXT_CREDIT_NOTE_COLUMNS = frozenset(
    {
        "credit_note_number",
        "credit_note_id",
        "customer_id",
        "invoice_number",
        "invoice_period",
        "line_type",
        "reason",
        "settlement",
        "currency",
    }
)
MONEY_COLUMNS = frozenset(
    {
        "amount",
        "subtotal",
        "discount_total",
        "credit_total",
        "tax_total",
        "total",
        "fees_total",
        "usage_total",
        "adjustment_total",
        "minimum_commitment_total",
        "tax",
    }
)
BOM = "\ufeff".encode()
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def escape_text(value: str) -> str:
    """Neutralise a text cell a spreadsheet would evaluate (CSV injection)."""
    return "'" + value if value.startswith(_FORMULA_PREFIXES) else value


def format_cell(
    column: str, value: Any, text_columns: frozenset[str], currency: str | None = None
) -> str:
    """One cell as text; an amount with the minor units of the row's ``currency`` (JPY 0
    places, USD 2; 2 without a currency column)."""
    if value is None:
        return ""
    if column in text_columns:
        return escape_text(str(value))
    if column in MONEY_COLUMNS:
        return money(Decimal(value), currency)
    if isinstance(value, Decimal):
        return plain_decimal(value)
    if isinstance(value, float):  # never expected: money and quantities are DECIMAL
        raise TypeError(f"float in export column {column}: {value!r}")
    return str(value)


def render_csv(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    text_columns: frozenset[str],
    *,
    bom: bool = False,
) -> bytes:
    """CSV bytes, UTF-8 (with a byte-order mark when ``bom``, as the exports are written)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    currency_at = list(columns).index("currency") if "currency" in columns else None
    for row in rows:
        currency = row[currency_at] if currency_at is not None else None
        writer.writerow(
            [format_cell(c, v, text_columns, currency) for c, v in zip(columns, row, strict=True)]
        )
    data = buf.getvalue().encode("utf-8")
    return BOM + data if bom else data


@dataclass(frozen=True)
class PeriodExport:
    period: str
    directory: Path
    files: dict[str, bytes]  # file name -> content
    written: list[str]  # file names whose bytes changed on disk


LINES_SQL = """
select
    l.invoice_number, l.customer_id, i.period_start, i.period_end, l.line_no,
    l.line_type, l.description, l.meter_code, l.dimensions, l.quantity, l.unit,
    l.unit_price, l.amount, l.currency,
    cast(i.period_end - 1 as date) as period_last_day,
    i.customer_name, coalesce(i.issue_date, cast(i.issued_at as date)) as issue_date,
    i.due_date, i.timezone,
    l.subscription_id, l.plan_code, l.plan_version, l.plan_name, l.charge_model, l.price_per,
    l.free_units, l.billable_quantity, l.package_size, l.price_basis,
    -- accounts (issue 22): whose usage the line is (a child billed to this invoice's customer)
    coalesce(l.usage_customer_id, l.customer_id) as usage_customer_id
from ledger.issued_invoice_lines as l
inner join ledger.issued_invoices as i
    on l.invoice_number = i.invoice_number
where i.period = ?
order by l.invoice_number, l.line_no
"""

SUMMARY_SQL = """
with

lines as (

    select
        invoice_number,
        count(*) as line_count,
        sum(amount) filter (where line_type = 'subscription') as fees_total,
        sum(amount) filter (where line_type = 'usage') as usage_total,
        sum(amount) filter (where line_type = 'adjustment') as adjustment_total,
        sum(amount) filter (where line_type = 'discount') as discount_total,
        sum(amount) filter (where line_type = 'minimum_commitment') as minimum_commitment_total,
        sum(amount) filter (where line_type = 'credit') as credit_total,
        sum(amount) filter (where line_type = 'tax') as tax_total
    from ledger.issued_invoice_lines
    group by invoice_number

)

select
    i.invoice_number, i.customer_id, i.period, i.period_start, i.period_end, i.currency,
    coalesce(lines.line_count, 0) as line_count,
    i.subtotal,
    coalesce(lines.discount_total, 0) as discount_total,
    coalesce(lines.credit_total, 0) as credit_total,
    coalesce(lines.tax_total, 0) as tax_total,
    i.total,
    i.customer_name,
    cast(i.period_end - 1 as date) as period_last_day,
    i.timezone,
    coalesce(i.issue_date, cast(i.issued_at as date)) as issue_date,
    i.due_date,
    i.payment_terms_days,
    coalesce(lines.fees_total, 0) as fees_total,
    coalesce(lines.usage_total, 0) as usage_total,
    coalesce(lines.adjustment_total, 0) as adjustment_total,
    coalesce(lines.minimum_commitment_total, 0) as minimum_commitment_total
from ledger.issued_invoices as i
left join lines on i.invoice_number = lines.invoice_number
where i.period = ?
order by i.invoice_number
"""


def render_period(
    con: duckdb.DuckDBPyConnection,
    period: str,
    *,
    documents: bool = True,
    reuse_dir: Path | None = None,
) -> dict[str, bytes]:
    """Every file of a closed period's export, rendered from the ledger (file name -> bytes):
    per invoice its CSV, and (``documents``) its HTML and PDF; and ``summary.csv``.
    ``reuse_dir``: the period's export directory, whose HTML and PDF documents are kept as
    written (orchestration.documents.render_invoice_documents: documents are written once)."""
    from orchestration.documents import render_invoice_documents

    lines = con.execute(LINES_SQL, [period]).fetchall()
    invoices = con.execute(SUMMARY_SQL, [period]).fetchall()
    by_invoice: dict[str, list[tuple[Any, ...]]] = {inv[0]: [] for inv in invoices}
    for line in lines:
        by_invoice.setdefault(line[0], []).append(line)
    files = {
        f"{number}.csv": render_csv(EXPORT_LINE_COLUMNS, rows, TEXT_LINE_COLUMNS, bom=True)
        for number, rows in by_invoice.items()
    }
    if documents:
        files |= render_invoice_documents(con, period, reuse_dir=reuse_dir)
    files["summary.csv"] = render_csv(
        EXPORT_SUMMARY_COLUMNS, invoices, TEXT_SUMMARY_COLUMNS, bom=True
    )
    notes = con.execute(
        f"select {', '.join(CREDIT_NOTE_COLUMNS)} from ledger.issued_credit_notes "
        "where period = ? order by credit_note_number",
        [period],
    ).fetchall()
    if notes:  # issue 17: the credit notes this close issued, beside its invoices
        files["credit_notes.csv"] = render_csv(
            CREDIT_NOTE_COLUMNS, notes, TEXT_CREDIT_NOTE_COLUMNS, bom=True
        )
    return files


def _tmp_root(s: Settings) -> Path:
    return s.data_dir / ".meterline" / "tmp"


def clean_stale_temp(s: Settings) -> None:
    """Remove temp exports left by a killed process (never under exports/)."""
    root = _tmp_root(s)
    if root.is_dir():
        for child in root.iterdir():
            if child.name.startswith("exports-"):
                shutil.rmtree(child, ignore_errors=True)


def _write_fsync(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def write_period(s: Settings, period: str, files: dict[str, bytes]) -> PeriodExport:
    """Make ``exports/invoices/<period>/`` hold exactly ``files``; atomic per file, and atomic
    as a whole when the directory is new. Unchanged files are not touched."""
    target = s.exports_dir / "invoices" / period
    tmp = _tmp_root(s) / f"exports-{period}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    for name, data in files.items():
        _write_fsync(tmp / name, data)
    target.parent.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    if not target.exists():
        os.replace(tmp, target)
        return PeriodExport(period, target, files, sorted(files))
    # summary.csv last: once it is in place, every invoice file it lists is too
    for name in sorted(files, key=lambda n: (n == "summary.csv", n)):
        dest = target / name
        if dest.exists() and dest.read_bytes() == files[name]:
            continue
        os.replace(tmp / name, dest)
        written.append(name)
    shutil.rmtree(tmp, ignore_errors=True)
    return PeriodExport(period, target, files, written)


def export_period(s: Settings, con: duckdb.DuckDBPyConnection, period: str) -> PeriodExport:
    """Render a closed period from the ledger (on ``con``) and write its files."""
    target = s.exports_dir / "invoices" / period
    return write_period(s, period, render_period(con, period, reuse_dir=target))


def closed_periods(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute("select distinct period from ledger.period_closes order by period")
    return [r[0] for r in rows.fetchall()]
