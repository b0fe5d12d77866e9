"""Invoice CSV exports of a closed period, written from the ledger (never from the marts, so an
issued invoice's file never changes).

Layout (ARCHITECTURE.md): ``exports/invoices/<YYYY-MM>/<invoice_number>.csv`` (one row per line)
plus ``summary.csv`` (one row per invoice). Amounts have 2 places, quantities and unit prices are
plain decimals (never scientific), text cells starting with ``= + - @`` (or tab / CR) are prefixed
with ``'`` so a spreadsheet shows them as text; numeric cells (``-25.96``) are numbers and are not
escaped. UTF-8, ``\\n`` line ends, no wall clock anywhere: the same ledger gives the same bytes.

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
    }
)
TEXT_SUMMARY_COLUMNS = frozenset({"invoice_number", "customer_id", "period", "currency"})
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
    {"amount", "subtotal", "discount_total", "credit_total", "tax_total", "total", "tax"}
)
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def escape_text(value: str) -> str:
    """Neutralise a text cell a spreadsheet would evaluate (CSV injection)."""
    return "'" + value if value.startswith(_FORMULA_PREFIXES) else value


def plain_decimal(value: Decimal) -> str:
    """A decimal without exponent and without trailing zeros: 1E+6 -> 1000000, 2.50 -> 2.5."""
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


def money(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")


def format_cell(column: str, value: Any, text_columns: frozenset[str]) -> str:
    if value is None:
        return ""
    if column in text_columns:
        return escape_text(str(value))
    if column in MONEY_COLUMNS:
        return money(Decimal(value))
    if isinstance(value, Decimal):
        return plain_decimal(value)
    if isinstance(value, float):  # never expected: money and quantities are DECIMAL
        raise TypeError(f"float in export column {column}: {value!r}")
    return str(value)


def render_csv(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], text_columns: frozenset[str]
) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            [format_cell(c, v, text_columns) for c, v in zip(columns, row, strict=True)]
        )
    return buf.getvalue().encode("utf-8")


@dataclass(frozen=True)
class PeriodExport:
    period: str
    directory: Path
    files: dict[str, bytes]  # file name -> content
    written: list[str]  # file names whose bytes changed on disk


def render_period(con: duckdb.DuckDBPyConnection, period: str) -> dict[str, bytes]:
    """Every file of a closed period's export, rendered from the ledger (file name -> bytes)."""
    lines = con.execute(
        """
        select
            l.invoice_number, l.customer_id, i.period_start, i.period_end, l.line_no,
            l.line_type, l.description, l.meter_code, l.dimensions, l.quantity, l.unit,
            l.unit_price, l.amount, l.currency
        from ledger.issued_invoice_lines as l
        inner join ledger.issued_invoices as i
            on l.invoice_number = i.invoice_number
        where i.period = ?
        order by l.invoice_number, l.line_no
        """,
        [period],
    ).fetchall()
    invoices = con.execute(
        """
        select
            i.invoice_number, i.customer_id, i.period, i.period_start, i.period_end, i.currency,
            (select count(*) from ledger.issued_invoice_lines as l
             where l.invoice_number = i.invoice_number) as line_count,
            i.subtotal, i.discount_total, i.credit_total, i.tax_total, i.total
        from ledger.issued_invoices as i
        where i.period = ?
        order by i.invoice_number
        """,
        [period],
    ).fetchall()
    by_invoice: dict[str, list[tuple[Any, ...]]] = {inv[0]: [] for inv in invoices}
    for line in lines:
        by_invoice.setdefault(line[0], []).append(line)
    files = {
        f"{number}.csv": render_csv(LINE_COLUMNS, rows, TEXT_LINE_COLUMNS)
        for number, rows in by_invoice.items()
    }
    files["summary.csv"] = render_csv(SUMMARY_COLUMNS, invoices, TEXT_SUMMARY_COLUMNS)
    notes = con.execute(
        f"select {', '.join(CREDIT_NOTE_COLUMNS)} from ledger.issued_credit_notes "
        "where period = ? order by credit_note_number",
        [period],
    ).fetchall()
    if notes:  # issue 17: the credit notes this close issued, beside its invoices
        files["credit_notes.csv"] = render_csv(CREDIT_NOTE_COLUMNS, notes, TEXT_CREDIT_NOTE_COLUMNS)
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
    return write_period(s, period, render_period(con, period))


def closed_periods(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute("select distinct period from ledger.period_closes order by period")
    return [r[0] for r in rows.fetchall()]
