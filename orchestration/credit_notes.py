"""Credit notes (issue 17): ``reference/credit_notes.csv`` holds the requests; ``meterline close``
validates the ones not yet issued and numbers them ``CN-<YYYYMM>-<NNNNN>`` (the period of the
close that issues them, numbers continuing after that period's last) into
``ledger.issued_credit_notes``, in the same transaction as the close's invoices. ``meterline
credit-note`` appends a validated request to the file (it can also be edited by hand: the close
validates every pending row again).

Columns: ``credit_note_id`` (the request's own id, unique), ``invoice_number`` (an issued
invoice), ``line_no`` (the line credited; empty = the invoice), ``amount`` or ``quantity``
(exactly one: an amount before tax, 2 places at most, or a quantity of the line, credited at the
line's average price: round(line amount x quantity / line quantity)), ``reason``, ``settlement``
(``refund``: paid back; ``account_credit``: a balance the customer's next invoices burn like a
paid grant, granted at the note's issue), ``currency`` (must be the invoice's).

A note credits ``amount`` plus tax at the invoice's rate (its tax line's rate): ``tax`` =
round(amount x rate), ``total`` = amount + tax (rounded half away from zero, as every line).
Never more than is still open to credit: a line's amount less the notes on it, and the invoice's
taxable amount (subtotal less the credits it applied) less every note on it (so the tax credited
never exceeds the tax charged). A bad row is refused with the file,
its line number (the header is line 1) and the problem; nothing of that close is written.

Credit notes are few (not events): they are validated one by one, in file order, so each sees
the notes before it.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

import duckdb

COLUMNS: tuple[str, ...] = (
    "credit_note_id",
    "invoice_number",
    "line_no",
    "amount",
    "quantity",
    "reason",
    "settlement",
    "currency",
)
SETTLEMENTS = ("refund", "account_credit")
CREDITABLE_LINES = ("subscription", "usage", "minimum_commitment", "adjustment")
CENT = Decimal("0.01")


class CreditNoteError(ValueError):
    """A credit note request that cannot be issued; the message names the file, line, problem."""


@dataclass(frozen=True)
class CreditNote:
    credit_note_id: str
    customer_id: str
    invoice_number: str
    invoice_period: str
    line_no: int | None
    line_type: str | None
    quantity: Decimal | None
    reason: str
    settlement: str
    currency: str
    amount: Decimal
    tax: Decimal
    total: Decimal


def round_money(x: Decimal, currency: str | None = None) -> Decimal:
    """To the currency's minor unit (cents without one; whole yen for JPY), half away from zero
    (x > 0 here)."""
    return x.quantize(_minor_unit(currency), rounding=ROUND_HALF_UP)


def _minor_unit(currency: str | None) -> Decimal:
    from orchestration.money import money_places

    return Decimal(1).scaleb(-money_places(currency))


def read_requests(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise CreditNoteError(f"{path}: missing column(s) {', '.join(missing)}")
        return [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]


def _decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{what} {text!r} is not a decimal number") from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{what} {text!r} must be a positive number")
    return value


def validate(
    con: duckdb.DuckDBPyConnection, path: Path, rows: list[dict[str, str]] | None = None
) -> list[CreditNote]:
    """The pending (not yet issued) requests of ``path`` (or ``rows``), validated against the
    ledger on ``con``; raises CreditNoteError naming the file and line of the first bad row."""
    rows = read_requests(path) if rows is None else rows
    issued_ids = {
        r[0]
        for r in con.execute("select credit_note_id from ledger.issued_credit_notes").fetchall()
    }
    credited_line: dict[tuple[str, int], Decimal] = {}
    credited_qty: dict[tuple[str, int], Decimal] = {}
    credited_invoice: dict[str, Decimal] = {}
    for inv, line_no, amount, qty in con.execute(
        "select invoice_number, line_no, amount, quantity from ledger.issued_credit_notes"
    ).fetchall():
        credited_invoice[inv] = credited_invoice.get(inv, Decimal(0)) + amount
        if line_no is not None:
            key = (inv, int(line_no))
            credited_line[key] = credited_line.get(key, Decimal(0)) + amount
            credited_qty[key] = credited_qty.get(key, Decimal(0)) + (qty or Decimal(0))
    seen: set[str] = set()
    notes: list[CreditNote] = []
    for index, row in enumerate(rows):
        where = f"{path} line {index + 2}"
        note_id = row.get("credit_note_id", "")
        try:
            if not note_id:
                raise ValueError("credit_note_id is empty")
            if note_id in seen:
                raise ValueError(f"credit_note_id {note_id!r} appears twice")
            seen.add(note_id)
            if note_id in issued_ids:
                continue
            notes.append(_validate_row(con, row, credited_line, credited_qty, credited_invoice))
        except ValueError as err:
            raise CreditNoteError(f"{where}: credit note {note_id or '?'}: {err}") from None
    return notes


def _validate_row(
    con: duckdb.DuckDBPyConnection,
    row: dict[str, str],
    credited_line: dict[tuple[str, int], Decimal],
    credited_qty: dict[tuple[str, int], Decimal],
    credited_invoice: dict[str, Decimal],
) -> CreditNote:
    number = row.get("invoice_number", "")
    invoice = con.execute(
        "select customer_id, period, currency, subtotal - credit_total from "
        "ledger.issued_invoices where invoice_number = ?",
        [number],
    ).fetchone()
    if invoice is None:
        raise ValueError(f"invoice {number!r} is not an issued invoice")
    customer, period, currency, invoice_base = invoice
    if row.get("currency", "").upper() != currency:
        raise ValueError(
            f"currency {row.get('currency')!r} is not the invoice's currency {currency}"
        )
    settlement = row.get("settlement", "")
    if settlement not in SETTLEMENTS:
        raise ValueError(f"settlement {settlement!r} must be one of {', '.join(SETTLEMENTS)}")
    reason = row.get("reason", "")
    if not reason:
        raise ValueError("reason is empty")
    amount_text, qty_text = row.get("amount", ""), row.get("quantity", "")
    if bool(amount_text) == bool(qty_text):
        raise ValueError("give exactly one of amount and quantity")
    rate_row = con.execute(
        "select coalesce(max(unit_price), 0) from ledger.issued_invoice_lines "
        "where invoice_number = ? and line_type = 'tax'",
        [number],
    ).fetchone()
    rate = Decimal(rate_row[0]) if rate_row else Decimal(0)
    line_no: int | None = None
    line_type: str | None = None
    quantity: Decimal | None = None
    if row.get("line_no", ""):
        try:
            line_no = int(row["line_no"])
        except ValueError:
            raise ValueError(f"line_no {row['line_no']!r} is not a line number") from None
        line = con.execute(
            "select line_type, quantity, amount from ledger.issued_invoice_lines "
            "where invoice_number = ? and line_no = ?",
            [number, line_no],
        ).fetchone()
        if line is None:
            raise ValueError(f"{number} has no line {line_no}")
        line_type, line_qty, line_amount = line
        if line_type not in CREDITABLE_LINES or line_amount <= 0:
            raise ValueError(f"line {line_no} of {number} ({line_type}) cannot be credited")
        key = (number, line_no)
        if qty_text:
            quantity = _decimal(qty_text, "quantity")
            if not line_qty:
                raise ValueError(f"line {line_no} of {number} has no quantity to credit")
            open_qty = line_qty - credited_qty.get(key, Decimal(0))
            if quantity > open_qty:
                raise ValueError(
                    f"quantity {quantity} is more than line {line_no} of {number} still open "
                    f"to credit ({open_qty.normalize():f})"
                )
            amount = round_money(line_amount * quantity / line_qty, currency)
        else:
            amount = _decimal(amount_text, "amount")
        open_line = line_amount - credited_line.get(key, Decimal(0))
        if amount > open_line:
            raise ValueError(
                f"amount {amount} is more than line {line_no} of {number} still open to "
                f"credit ({open_line})"
            )
    else:
        if qty_text:
            raise ValueError("a quantity needs a line_no")
        amount = _decimal(amount_text, "amount")
    if amount != amount.quantize(_minor_unit(currency)):
        raise ValueError(
            f"amount {amount} has more decimal places than {currency} has "
            f"({-_minor_unit(currency).as_tuple().exponent})"
        )
    open_invoice = invoice_base - credited_invoice.get(number, Decimal(0))
    if amount > open_invoice:
        raise ValueError(
            f"amount {amount} is more than invoice {number} still open to credit ({open_invoice})"
        )
    credited_invoice[number] = credited_invoice.get(number, Decimal(0)) + amount
    if line_no is not None:
        key = (number, line_no)
        credited_line[key] = credited_line.get(key, Decimal(0)) + amount
        credited_qty[key] = credited_qty.get(key, Decimal(0)) + (quantity or Decimal(0))
    tax = round_money(amount * rate, currency)
    return CreditNote(
        credit_note_id=row["credit_note_id"],
        customer_id=customer,
        invoice_number=number,
        invoice_period=period,
        line_no=line_no,
        line_type=line_type,
        quantity=quantity,
        reason=reason,
        settlement=settlement,
        currency=currency,
        amount=amount,
        tax=tax,
        total=amount + tax,
    )


def issue(
    con: duckdb.DuckDBPyConnection, path: Path, period: str, issued_at: dt.datetime
) -> list[str]:
    """Validate the pending requests of ``path`` and write them to the ledger numbered
    ``CN-<period>-<NNNNN>`` (file order). Runs inside the caller's transaction."""
    notes = validate(con, path)
    row = con.execute(
        "select coalesce(max(cast(right(credit_note_number, 5) as integer)), 0) "
        "from ledger.issued_credit_notes where period = ?",
        [period],
    ).fetchone()
    last = int(row[0]) if row else 0
    numbers: list[str] = []
    for i, n in enumerate(notes, start=1):
        number = f"CN-{period.replace('-', '')}-{last + i:05d}"
        con.execute(
            "insert into ledger.issued_credit_notes values "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                number,
                n.credit_note_id,
                n.customer_id,
                n.invoice_number,
                n.invoice_period,
                n.line_no,
                n.line_type,
                n.quantity,
                n.reason,
                n.settlement,
                n.currency,
                n.amount,
                n.tax,
                n.total,
                period,
                issued_at,
            ],
        )
        numbers.append(number)
    return numbers


def append_request(path: Path, row: dict[str, str]) -> None:
    """Append one request to ``path`` (header written when the file is new)."""
    new = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(COLUMNS), lineterminator="\n")
        if new:
            writer.writeheader()
        writer.writerow({c: row.get(c, "") for c in COLUMNS})
