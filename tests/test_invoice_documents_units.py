"""The parts of the invoice documents that need no pipeline: the seller config, the payment terms
column of customers.csv, number formatting, and the HTML (escaping, grouping, totals by type)."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from orchestration.config import Settings
from orchestration.documents import (
    money_text,
    price_text,
    quantity_text,
    render_invoice_html,
    render_pdf,
)
from orchestration.ingest import ReferenceDataError, ingest_reference
from orchestration.seller import Seller, SellerConfigError, load_seller
from tests.support.ingest import CUSTOMERS_CSV, query, write_reference


def test_seller_defaults_and_file(tmp_path: Path) -> None:
    assert load_seller(tmp_path) == Seller(name="meterline")
    (tmp_path / "seller.yml").write_text(
        "name: Example AI Ltd\naddress: [1 Road, Town]\ntax_id: GB 1\n", encoding="utf-8"
    )
    seller = load_seller(tmp_path)
    assert seller == Seller(name="Example AI Ltd", address=("1 Road", "Town"), tax_id="GB 1")
    assert Seller.from_json(seller.to_json()) == seller
    assert seller.to_json() == (
        '{"address":["1 Road","Town"],"email":null,"name":"Example AI Ltd",'
        '"payment_instructions":null,"tax_id":"GB 1"}'
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: X\nbank: Y\n", "reference/seller.yml: unknown key(s): bank"),
        ("- a\n- b\n", "reference/seller.yml: must be a mapping of name, address, email, ..."),
        ("address: {street: x}\n", "reference/seller.yml: address: must be a list of lines"),
        ("name: [a]\n", "reference/seller.yml: name: ['a'] is not text"),
        ("name: 'x\n", "reference/seller.yml: cannot be parsed as YAML"),
    ],
)
def test_invalid_seller_names_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "seller.yml").write_text(text, encoding="utf-8")
    with pytest.raises(SellerConfigError) as exc:
        load_seller(tmp_path)
    assert str(exc.value).startswith(message)


def test_payment_terms_column_is_optional_and_validated(tmp_settings: Settings) -> None:
    s = tmp_settings
    with_terms = CUSTOMERS_CSV.replace(
        "billing_email\n", "billing_email,payment_terms_days\n", 1
    ).replace("billing@acme.test\n", "billing@acme.test,45\n")
    with_terms = with_terms.replace("startup,,\n", "startup,,,\n").replace("smb,,\n", "smb,,,7\n")
    write_reference(s, {"customers.csv": with_terms})
    ingest_reference(s)
    assert query(
        s, "select customer_id, payment_terms_days from raw.customers order by row_number"
    ) == [("cus_acme", "45"), ("cus_beta", None), ("cus_euro", "7")]
    for bad, problem in (
        ("-3", "is negative"),
        ("2.5", "is not a non-negative integer"),
        ("400", "more than 365"),
    ):
        write_reference(s, {"customers.csv": with_terms.replace(",45\n", f",{bad}\n")})
        with pytest.raises(ReferenceDataError) as exc:
            ingest_reference(s)
        assert "reference/customers.csv: row 1: column 'payment_terms_days'" in str(exc.value)
        assert problem in str(exc.value)


def test_number_texts() -> None:
    assert money_text(Decimal("2462.705")) == "2,462.71"
    assert money_text(Decimal("-51.41")) == "-51.41"
    assert quantity_text(Decimal("92902908.000000000")) == "92,902,908"
    assert quantity_text(Decimal("59954.670")) == "59,954.67"
    assert price_text(Decimal("2000")) == "2,000.00"
    assert price_text(Decimal("0.2")) == "0.20"
    assert price_text(Decimal("0.012000000000")) == "0.012"


def _invoice(name: str) -> dict[str, object]:
    return {
        "invoice_number": "INV-202610-00002",
        "customer_id": "cus_x",
        "period": "2026-10",
        "period_start": dt.date(2026, 10, 1),
        "period_end": dt.date(2026, 11, 1),
        "currency": "USD",
        "subtotal": Decimal("1000.00"),
        "total": Decimal("1080.00"),
        "issued_at": dt.datetime(2026, 11, 3),
        "customer_name": name,
        "billing_email": None,
        "timezone": "Europe/London",
        "payment_terms_days": 30,
        "issue_date": dt.date(2026, 11, 3),
        "due_date": dt.date(2026, 12, 3),
    }


def _line(no: int, line_type: str, amount: str, **kw: object) -> dict[str, object]:
    row: dict[str, object] = {
        "line_no": no,
        "line_type": line_type,
        "description": kw.pop("description", line_type),
        "meter_code": None,
        "quantity": None,
        "unit": None,
        "unit_price": None,
        "amount": Decimal(amount),
        "subscription_id": None,
        "plan_code": None,
        "plan_version": None,
        "plan_name": None,
        "charge_model": None,
        "price_per": None,
        "price_basis": None,
    }
    row.update(kw)
    return row


PRO = {"subscription_id": "sub_1", "plan_code": "pro", "plan_version": 1, "plan_name": "Pro"}

# PRICING.md's worked invoice, abridged: fee, two usage lines of one meter, discount, commitment,
# credit, tax
WORKED = [
    _line(
        1,
        "subscription",
        "99.00",
        quantity=Decimal(31),
        unit="day",
        unit_price=Decimal(99),
        price_per=Decimal(31),
        charge_model="prorated_fee",
        price_basis="99.00 per month × 31/31 days (2026-10-01 to 2026-10-31)",
        **PRO,
    ),
    _line(
        2,
        "usage",
        "6.00",
        meter_code="llm_input_tokens",
        quantity=Decimal(3400000),
        unit="token",
        unit_price=Decimal("2.5"),
        price_per=Decimal(1000000),
        charge_model="per_unit",
        price_basis="2.50 per 1,000,000 tokens, first 1,000,000 free",
        description="LLM input tokens · model=gpt-4o* · 2.50 per 1,000,000 tokens, first "
        "1,000,000 free",
        **PRO,
    ),
    _line(
        3,
        "usage",
        "3.00",
        meter_code="llm_input_tokens",
        quantity=Decimal(1000000),
        unit="token",
        unit_price=Decimal(3),
        price_per=Decimal(1000000),
        charge_model="per_unit",
        price_basis="3.00 per 1,000,000 tokens",
        description="LLM input tokens · model=claude-sonnet-4-5* · 3.00 per 1,000,000 tokens",
        **PRO,
    ),
    _line(
        4,
        "usage",
        "242.00",
        meter_code="images",
        quantity=Decimal(6000),
        unit="image",
        charge_model="graduated",
        price_basis="graduated: 1,000 × 0.05 + 4,000 × 0.04 + 2.00 + 1,000 × 0.03",
        description="Images · graduated: 1,000 × 0.05 + 4,000 × 0.04 + 2.00 + 1,000 × 0.03",
        **PRO,
    ),
    _line(5, "discount", "-25.96", description="Discount 10.00% of usage 259.60"),
    _line(6, "minimum_commitment", "667.36", description="Minimum commitment 1000.00 - 332.64"),
    _line(7, "credit", "-100.00", description="Credits applied (promotional)"),
    _line(
        8,
        "tax",
        "180.00",
        quantity=Decimal(900),
        unit_price=Decimal("0.2"),
        description="Tax 20.00% of 900.00",
    ),
]


def test_html_groups_lines_and_escapes_reference_text() -> None:
    html = render_invoice_html(
        _invoice('<img src="http://x/y.png"> Evil & Co'),
        WORKED,
        Seller(name="Seller <b>Ltd</b>", address=("1 Road",)),
    )
    assert "<img" not in html and "<b>Ltd" not in html
    assert "&lt;img src=&#34;http://x/y.png&#34;&gt; Evil &amp; Co" in html
    assert "Seller &lt;b&gt;Ltd&lt;/b&gt;" in html
    # header: dates, the period's last day (inclusive), terms
    assert "<tr><th>Due date</th><td>2026-12-03</td></tr>" in html
    assert "2026-10-01 to 2026-10-31" in html and "(30 days from the issue date)" in html
    # one subscription group with its subtotal 350.00 = 99 + 6 + 3 + 242; a heading over the
    # meter priced by two rows, none over the single-row meter
    assert "Pro v1" in html and "350.00" in html
    assert html.count('<tr class="charge">') == 1 and ">LLM input tokens</td>" in html
    assert "model=gpt-4o*" in html and "2.50 / 1,000,000" in html
    assert "graduated: 1,000 × 0.05 + 4,000 × 0.04 + 2.00 + 1,000 × 0.03" in html
    # totals by type, the subtotal before credits and tax, the total
    for label, amount in (
        ("Subscriptions", "99.00"),
        ("Usage", "251.00"),
        ("Discounts", "-25.96"),
        ("Minimum commitment", "667.36"),
        ("Subtotal", "1,000.00"),
        ("Credits", "-100.00"),
        ("Tax", "180.00"),
    ):
        assert f'<tr><td>{label}</td><td class="amount">{amount}</td></tr>' in html or (
            label == "Subtotal" and f'<td>Subtotal</td><td class="amount">{amount}</td>' in html
        ), label
    assert (
        html.index("Minimum commitment 1000.00")
        < html.index(">Subtotal<", html.index("Charges"))
        < html.index("Credits applied")
    )
    assert "Total due (8 lines)" in html and "USD 1,080.00" in html


def test_pdf_bytes_are_deterministic() -> None:
    html = render_invoice_html(_invoice("Northwind Inc"), WORKED, Seller())
    first, second = render_pdf(html), render_pdf(html)
    assert first.startswith(b"%PDF-") and first == second
    assert b"CreationDate" not in first


def _pages_text(pdf: bytes, tmp_path: Path) -> list[str]:
    path = tmp_path / "invoice.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    return [page for page in out.split("\f") if page.strip()]


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler's pdftotext")
def test_payment_box_stays_with_the_totals_across_page_breaks(tmp_path: Path) -> None:
    """Whatever the number of lines, the page with the payment instructions also carries the
    subtotal and the total due: a page never holds the payment box alone (the demo's 39-line
    INV-202610-00001 had it alone on page 3)."""
    usage = WORKED[2]
    seen_pages: set[int] = set()
    for extra in range(20, 48, 3):
        lines = [
            *WORKED[:3],
            *(
                {**usage, "line_no": 100 + k, "description": f"LLM input tokens · model=m{k}*"}
                for k in range(extra)
            ),
            *WORKED[3:],
        ]
        pages = _pages_text(
            render_pdf(render_invoice_html(_invoice("Northwind"), lines, Seller())), tmp_path
        )
        seen_pages.add(len(pages))
        with_box = [page for page in pages if "Please pay" in page]
        assert len(with_box) == 1, extra
        assert "Total due (" in with_box[0] and "Subtotal" in with_box[0], (extra, with_box[0])
    assert len(seen_pages) > 1  # the range crosses a page break


def test_documents_are_written_once(tmp_path: Path) -> None:
    """An issued invoice's HTML and PDF on disk are kept as they are (a template change never
    alters them); a missing PDF is rendered from the HTML on disk; a missing HTML is rendered."""
    from orchestration.documents import render_invoice_documents
    from orchestration.warehouse import connect, ensure_schema

    with connect(tmp_path / "w.duckdb") as con:
        ensure_schema(con)
        con.execute(
            "insert into ledger.issued_invoices by name select 'INV-202610-00001' as "
            "invoice_number, 'cus_x' as customer_id, '2026-10' as period, date '2026-10-01' as "
            "period_start, date '2026-11-01' as period_end, 'USD' as currency, 99.00 as subtotal, "
            "0 as discount_total, 0 as credit_total, 0 as tax_total, 99.00 as total, "
            "timestamp '2026-11-03' as issued_at, 'X Inc' as customer_name"
        )
        con.execute(
            "insert into ledger.issued_invoice_lines by name select 'INV-202610-00001' as "
            "invoice_number, 'cus_x' as customer_id, '2026-10' as period, 1 as line_no, "
            "'subscription' as line_type, 'Pro v1 subscription' as description, 99.00 as amount, "
            "'USD' as currency"
        )
        fresh = render_invoice_documents(con, "2026-10")
        out = tmp_path / "exports"
        out.mkdir()
        html, pdf = out / "INV-202610-00001.html", out / "INV-202610-00001.pdf"
        html.write_bytes(b"<html><body><p>as issued</p></body></html>")
        pdf.write_bytes(b"%PDF- as issued")
        kept = render_invoice_documents(con, "2026-10", reuse_dir=out)
        assert kept["INV-202610-00001.html"] == html.read_bytes()
        assert kept["INV-202610-00001.pdf"] == b"%PDF- as issued"
        pdf.unlink()  # a lost PDF is rendered again from the HTML as issued
        from_html = render_invoice_documents(con, "2026-10", reuse_dir=out)
        assert from_html["INV-202610-00001.pdf"] == render_pdf(html.read_text())
        assert from_html["INV-202610-00001.pdf"] != fresh["INV-202610-00001.pdf"]
        html.unlink()
        assert render_invoice_documents(con, "2026-10", reuse_dir=out) == fresh
    assert fresh["INV-202610-00001.pdf"].startswith(b"%PDF-")
    assert "X Inc" in fresh["INV-202610-00001.html"].decode()
