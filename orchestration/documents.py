"""Invoice documents: each issued invoice as HTML (``<invoice_number>.html``) and as a PDF rendered
from that HTML by WeasyPrint (``<invoice_number>.pdf``), both from the ledger only.

The document: the seller (``ledger.issued_invoices.seller_json``, from reference/seller.yml at
issue), the customer, the invoice number, issue and due dates, the period (first and last day,
inclusive, in the customer's time zone), the totals by type, then the lines grouped by
subscription (plan name and version) and, within it, by charge (meter), each with its quantity,
unit, unit price, price basis and amount; then the invoice-level lines (adjustments, discount,
minimum commitment, credits, tax) and the total due. A parent's invoice carrying children
billed to it (accounts, issue 22) shows each child's subscriptions under a header naming the
child, after the parent's own.

Deterministic: no wall clock, no random identifiers; WeasyPrint writes no creation date, so the
same ledger (and the same fonts) gives the same bytes. Text from reference data is escaped
(Jinja2 autoescape), never interpreted as markup.

WeasyPrint needs Pango (Debian: libpango-1.0-0, libpangoft2-1.0-0) and a font
(fonts-dejavu-core); scripts/ensure-pdf-deps.sh installs them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import jinja2

from orchestration.money import money_places, plain_decimal
from orchestration.seller import Seller

TEMPLATES = Path(__file__).parent / "templates"

INVOICES_SQL = """
select
    invoice_number, customer_id, period, period_start, period_end, currency, subtotal,
    discount_total, credit_total, tax_total, total, issued_at, customer_name, billing_email,
    timezone, payment_terms_days, issue_date, due_date, seller_json
from ledger.issued_invoices
where period = ?
order by invoice_number
"""

LINES_SQL = """
select
    l.invoice_number, l.line_no, l.line_type, l.description, l.meter_code, l.dimensions,
    l.quantity, l.unit, l.unit_price, l.amount, l.subscription_id, l.plan_code,
    l.plan_version, l.plan_name, l.charge_model, l.price_per, l.free_units, l.price_basis,
    coalesce(l.usage_customer_id, l.customer_id) as usage_customer_id, l.customer_id
from ledger.issued_invoice_lines as l
inner join ledger.issued_invoices as i on l.invoice_number = i.invoice_number
where i.period = ?
order by l.invoice_number, l.line_no
"""

# invoice-level lines, in invoice order, with their heading on the document
SUMMARY_TYPES: tuple[tuple[str, str], ...] = (
    ("subscription", "Subscriptions"),
    ("usage", "Usage"),
    ("adjustment", "Adjustments (late usage of closed periods)"),
    ("discount", "Discounts"),
    ("minimum_commitment", "Minimum commitment"),
    ("credit", "Credits"),
    ("tax", "Tax"),
)


def money_text(value: Decimal | None, currency: str | None = None) -> str:
    """The currency's minor units (2 places without one), thousands separators:
    2462.71 -> "2,462.71"; -51.41 -> "-51.41"; 11842 JPY -> "11,842"."""
    if value is None:
        return ""
    places = money_places(currency)
    amount = Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{amount:,.{places}f}"


def quantity_text(value: Decimal | None) -> str:
    """Thousands separators, no trailing zeros: 1854844 -> "1,854,844"; 59954.67 -> "59,954.67"."""
    if value is None:
        return ""
    text = plain_decimal(Decimal(value))
    whole, _, frac = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    whole = f"{int(whole.lstrip('-')):,}"
    return sign + whole + ("." + frac if frac else "")


def price_text(value: Decimal, currency: str | None = None) -> str:
    """A unit price: at least the currency's minor units (2 places without a currency), more
    only when it has them, thousands separators: 2000 -> "2,000.00"; 0.2 -> "0.20"; 0.012 ->
    "0.012" (as the price basis text shows it); 375 JPY -> "375"; 0.5 JPY -> "0.5"."""
    value = Decimal(value)
    if value == value.quantize(Decimal(1).scaleb(-money_places(currency))):
        return money_text(value, currency)
    return quantity_text(value)


def date_text(value: dt.date | None) -> str:
    return value.isoformat() if value else ""


@dataclass
class Line:
    line_no: int
    line_type: str
    label: str
    basis: str
    quantity: str
    unit: str
    unit_price: str
    amount: str


@dataclass
class Charge:
    label: str
    lines: list[Line] = field(default_factory=list)


@dataclass
class Group:
    title: str
    subtitle: str
    charges: list[Charge] = field(default_factory=list)
    total: str = ""
    # accounts (issue 22): the child whose usage the group is, when billed to this invoice's
    # customer ("" = the customer's own); the document heads each child's groups with it
    account: str = ""
    account_header: bool = False


def _label(description: str, basis: str | None) -> str:
    """The line's text without its price basis (shown separately): the description of a usage
    line is "<meter> · <patterns> · <basis>"."""
    if basis and description.endswith(" · " + basis):
        return description[: -len(" · " + basis)]
    return description


def _line(row: dict[str, Any], currency: str | None = None) -> Line:
    basis = row["price_basis"] or ""
    price_per = row["price_per"]
    unit_price = ""
    if row["unit_price"] is not None and row["line_type"] in ("usage", "subscription"):
        unit_price = price_text(row["unit_price"], currency)
        if row["line_type"] == "subscription":
            unit_price += " / month"
        elif price_per is not None and Decimal(price_per) != 1:
            unit_price += f" / {quantity_text(price_per)}"
        elif row["charge_model"] == "package":
            unit_price += " / package"
    label = _label(row["description"], row["price_basis"])
    if row["line_type"] == "subscription":
        label = "Subscription fee"
    return Line(
        line_no=row["line_no"],
        line_type=row["line_type"],
        label=label,
        basis=basis,
        quantity=quantity_text(row["quantity"]) if row["line_type"] != "tax" else "",
        unit=row["unit"] or "",
        unit_price=unit_price,
        amount=money_text(row["amount"], currency),
    )


def _groups(
    rows: list[dict[str, Any]], currency: str | None = None
) -> tuple[list[Group], list[Line]]:
    """Subscription groups (fee first, then one charge per meter) and the invoice-level lines."""
    groups: dict[str, Group] = {}
    sums: dict[str, Decimal] = {}
    others: list[Line] = []
    for row in rows:
        if row["line_type"] not in ("subscription", "usage"):
            others.append(_line(row, currency))
            continue
        usage_customer = row.get("usage_customer_id") or row.get("customer_id")
        account = usage_customer if usage_customer != row.get("customer_id") else ""
        key = account + "|" + (row["subscription_id"] or row["plan_code"] or "")
        if key not in groups:
            plan = row["plan_name"] or row["plan_code"] or "Plan"
            version = f" v{row['plan_version']}" if row["plan_version"] is not None else ""
            groups[key] = Group(
                title=f"{plan}{version}",
                subtitle=f"subscription {row['subscription_id']}" if row["subscription_id"] else "",
                account=account,
                account_header=bool(account) and all(g.account != account for g in groups.values()),
            )
            sums[key] = Decimal(0)
        group = groups[key]
        sums[key] += Decimal(row["amount"])
        line = _line(row, currency)
        charge_label = line.label
        if row["line_type"] == "usage":
            # a meter priced by several rows (e.g. per model) gets a heading over its lines
            meter, _, patterns = line.label.partition(" · ")
            charge_label = meter
            line.label = patterns or meter
            if not patterns and group.charges and group.charges[-1].label == meter:
                line.label = "other usage (default price)"
        if not group.charges or group.charges[-1].label != charge_label:
            group.charges.append(Charge(charge_label))
        group.charges[-1].lines.append(line)
    for key, group in groups.items():
        group.total = money_text(sums[key], currency)
    return list(groups.values()), others


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("invoice.html.j2")


def render_invoice_html(invoice: dict[str, Any], rows: list[dict[str, Any]], seller: Seller) -> str:
    currency = invoice["currency"]
    groups, others = _groups(rows, currency)
    by_type: dict[str, Decimal] = {}
    for row in rows:
        by_type[row["line_type"]] = by_type.get(row["line_type"], Decimal(0)) + Decimal(
            row["amount"]
        )
    totals = [
        (label, money_text(by_type[t], currency)) for t, label in SUMMARY_TYPES if t in by_type
    ]
    period_end = invoice["period_end"]
    before_subtotal = [x for x in others if x.line_type not in ("credit", "tax")]
    after_subtotal = [x for x in others if x.line_type in ("credit", "tax")]
    context = {
        "seller": seller,
        "invoice": invoice,
        "number": invoice["invoice_number"],
        "customer_name": invoice["customer_name"] or invoice["customer_id"],
        "issue_date": date_text(invoice["issue_date"] or invoice["issued_at"].date()),
        "due_date": date_text(invoice["due_date"]),
        "terms": invoice["payment_terms_days"],
        "period_first": date_text(invoice["period_start"]),
        "period_last": date_text(period_end - dt.timedelta(days=1)),
        "timezone": invoice["timezone"] or "UTC",
        "currency": invoice["currency"],
        "groups": groups,
        "before_subtotal": before_subtotal,
        "after_subtotal": after_subtotal,
        "totals": totals,
        "subtotal": money_text(invoice["subtotal"], currency),
        "total": money_text(invoice["total"], currency),
        "line_count": len(rows),
    }
    return _template().render(**context)


def render_pdf(html: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=html, base_url=str(TEMPLATES)).write_pdf()


def _dicts(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    cols = [d[0] for d in cur.description or []]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def render_invoice_documents(
    con: duckdb.DuckDBPyConnection, period: str, *, reuse_dir: Path | None = None
) -> dict[str, bytes]:
    """``<number>.html`` and ``<number>.pdf`` of every issued invoice of ``period``.

    With ``reuse_dir`` (the period's export directory) a document is written once: an HTML or
    PDF already there is kept as it is (read back), a missing PDF is rendered from the HTML on
    disk when that exists. So a later template or WeasyPrint change never alters a document
    already issued, and a `meterline run` re-checking closed periods renders nothing (rendering
    a PDF is the slow part, ~0.3 s an invoice)."""
    invoices = _dicts(con.execute(INVOICES_SQL, [period]))
    lines = _dicts(con.execute(LINES_SQL, [period]))
    by_invoice: dict[str, list[dict[str, Any]]] = {i["invoice_number"]: [] for i in invoices}
    for line in lines:
        by_invoice[line["invoice_number"]].append(line)
    files: dict[str, bytes] = {}
    for invoice in invoices:
        number = invoice["invoice_number"]
        html_path = reuse_dir / f"{number}.html" if reuse_dir else None
        pdf_path = reuse_dir / f"{number}.pdf" if reuse_dir else None
        if html_path is not None and html_path.is_file():
            html_bytes = html_path.read_bytes()
        else:
            seller = Seller.from_json(invoice["seller_json"]) or Seller()
            html = render_invoice_html(invoice, by_invoice[number], seller)
            html_bytes = html.encode("utf-8")
        files[f"{number}.html"] = html_bytes
        if pdf_path is not None and pdf_path.is_file():
            files[f"{number}.pdf"] = pdf_path.read_bytes()
        else:
            files[f"{number}.pdf"] = render_pdf(html_bytes.decode("utf-8"))
    return files
