"""The dashboard on the demo data in a real browser (Debian chromium, Playwright, 1440 px):
the default period, numeric sort and CSV download of invoice totals, the drill from an invoice
line to its days and events, the URL state, and a Markdown-looking customer id shown as text.

The demo data directory: ``$METERLINE_DEMO_DIR`` when it holds a published warehouse (``make
demo`` writes ./data), else one is generated, run and closed (2026-10) here. Screenshots of every
page go to tests/artifacts/dashboard-demo/ (git-ignored)."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from dashboards.components import INVOICE_LIST_WIDTHS
from orchestration.config import Settings, settings
from tests.support.dashboard import publish, streamlit_server, write_contract_fixture

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "dashboard-demo"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--no-first-run"]
TIMEOUT_MS = 60_000
WIDTH = 1440
PAGES = {  # screenshot name: (url path, a text the page shows once drawn)
    "overview": ("", "Lowest margins"),
    "invoices": ("invoices", "Invoice detail"),
    "customer": ("customer", "Invoice history"),
    "cogs": ("cogs", "What providers billed"),
    "contracts": ("contracts", "Commitment burn-down"),
    "alerts": ("alerts", "Per customer"),
    "data-quality": ("data_quality", "Freshness per source"),
}
pytestmark = pytest.mark.browser


def _meterline(*args: str, env: dict[str, str]) -> None:
    subprocess.run(
        [str(Path(sys.executable).parent / "meterline"), *args], check=True, env=env, timeout=900
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (scripts/ensure-chromium.sh installs it)")
    given = os.environ.get("METERLINE_DEMO_DIR")
    if given and (Path(given) / "published" / "warehouse.duckdb").exists():
        return settings(Path(given).resolve())
    data = tmp_path_factory.mktemp("demo") / "data"
    env = {**os.environ, "METERLINE_DATA_DIR": str(data)}
    _meterline("generate", "--out", str(data), "--quiet", env=env)  # as `make demo`
    _meterline("run", "--data-dir", str(data), env=env)
    _meterline("close", "--period", "2026-09", "--no-refresh", "--data-dir", str(data), env=env)
    _meterline(
        "credit-note",
        *("--invoice", "INV-202609-00001", "--line", "6", "--amount", "20.00"),
        *("--reason", "images regenerated after an outage", "--settlement", "account_credit"),
        *("--id", "demo-cn-1", "--data-dir", str(data)),
        env=env,
    )
    _meterline("close", "--through", "2026-10", "--data-dir", str(data), env=env)
    return settings(data)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield b
        finally:
            b.close()


def _query(s: Settings, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(s.published_warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def settle(page, *texts: str) -> None:  # noqa: ANN001
    from playwright.sync_api import expect

    for text in texts:
        expect(page.get_by_text(text, exact=False).filter(visible=True).first).to_be_visible(
            timeout=TIMEOUT_MS
        )
    quiet(page)
    assert page.get_by_test_id("stException").count() == 0


def quiet(page) -> None:  # noqa: ANN001
    """Wait until no script run is in progress for a second (a grid with row selection, a
    picker written back to the URL can start one more run after the first)."""
    from playwright.sync_api import expect

    calm = 0
    for _ in range(200):
        expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=TIMEOUT_MS)
        page.wait_for_timeout(250)
        running = page.get_by_test_id("stStatusWidget").count()
        # elements a run has not reached yet are marked data-stale (still the last run's)
        stale = page.locator('[data-stale="true"]').count()
        calm = calm + 1 if running == 0 and stale == 0 else 0
        if calm >= 4:
            return
    raise AssertionError("the app never settled")


def shoot(page, name: str) -> Path:  # noqa: ANN001
    """A screenshot of the whole page at 1440 px (the app scrolls inside its main block, so the
    viewport is grown to the content first)."""
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll("
        "'[data-testid=stMain], [data-testid=stMainBlockContainer]')].map(e => e.scrollHeight))"
    )
    page.set_viewport_size({"width": WIDTH, "height": min(int(height) + 120, 12000)})
    page.wait_for_timeout(1200)
    quiet(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": WIDTH, "height": 1000})
    return path


def _sidebar_value(page, label: str) -> str:  # noqa: ANN001
    box = page.get_by_test_id("stSidebar").get_by_role("combobox", name=label)
    return box.first.input_value()


def test_default_period_and_every_page(demo: Settings, browser) -> None:  # noqa: ANN001
    [(default,)] = _query(demo, "select period from marts.dim_billing_periods where is_default")
    [(latest,)] = _query(demo, "select max(period) from marts.dim_billing_periods")
    assert (default, latest) == ("2026-10", "2026-11")  # November: fee drafts, no whole month
    with streamlit_server(demo) as base:
        page = browser.new_page(viewport={"width": WIDTH, "height": 1000})
        page.goto(base, timeout=TIMEOUT_MS)
        settle(page, "Revenue")
        assert "2026-10 · closed" in _sidebar_value(page, "Billing period")
        assert "period=2026-10" in page.url
        for name, (path, text) in PAGES.items():
            page.goto(f"{base}/{path}?period=2026-10&customer=cus_northwind", timeout=TIMEOUT_MS)
            settle(page, text)
            assert _sidebar_value(page, "Billing period") == "2026-10 · closed"
            shoot(page, f"{name}")
        # the incomplete month says so on every page that shows a period
        for name, (path, _) in PAGES.items():
            if name in ("contracts", "data-quality"):
                continue
            page.goto(f"{base}/{path}?period=2026-11&customer=cus_northwind", timeout=TIMEOUT_MS)
            settle(page, "2026-11 is incomplete")
            if name in ("overview", "customer"):
                shoot(page, f"{name}-2026-11-incomplete")
        page.goto(f"{base}/invoices?period=2026-10&customer=cus_northwind", timeout=TIMEOUT_MS)
        # table cells are drawn on a canvas: the section is what the DOM shows (the note's row is
        # checked on the mart by test_demo_credit_note_is_in_the_mart, and in the screenshot)
        settle(page, "Credit notes — issued at the close of 2026-10", "Billing periods")
        page.get_by_text("Billing periods — issued vs draft").first.scroll_into_view_if_needed()
        shoot(page, "invoices-2026-10-credit-note")
        page.close()


def test_demo_credit_note_is_in_the_mart(demo: Settings) -> None:
    """`make demo` requests a credit note on INV-202609-00001 after September's close; October's
    close numbers it (what the Invoices page lists under "Credit notes")."""
    assert _query(
        demo,
        "select credit_note_number, invoice_number, line_no, reason, settlement, total, period "
        "from marts.fct_credit_notes",
    ) == [
        (
            "CN-202610-00001",
            "INV-202609-00001",
            6,
            "images regenerated after an outage",
            "account_credit",
            Decimal("20.00"),
            "2026-10",
        )
    ]


def test_alerts_carry_the_spend_at_the_crossing(demo: Settings) -> None:
    """fct_alerts on the demo: cus_rekall crossed 100% of its 36.65 budget on 2026-10-01 with
    40.80 spent to that day (the month ended at 169.14, its October usage lines)."""
    rows = _query(
        demo,
        "select alert_date, alert_type, detail, amount, reference_amount, period_spend_to_date "
        "from marts.fct_alerts where customer_id = 'cus_rekall' and period = '2026-10' "
        "order by alert_date, alert_type, threshold_pct",
    )
    assert rows[:4] == [
        (
            date(2026, 10, 1),
            "hard_limit",
            "spend above the monthly budget (hard limit)",
            Decimal("40.80"),
            Decimal("36.65"),
            Decimal("169.14"),
        ),
        (
            date(2026, 10, 1),
            "threshold",
            "50% of the monthly budget",
            Decimal("40.80"),
            Decimal("18.33"),
            Decimal("169.14"),
        ),
        (
            date(2026, 10, 1),
            "threshold",
            "80% of the monthly budget",
            Decimal("40.80"),
            Decimal("29.32"),
            Decimal("169.14"),
        ),
        (
            date(2026, 10, 1),
            "threshold",
            "100% of the monthly budget",
            Decimal("40.80"),
            Decimal("36.65"),
            Decimal("169.14"),
        ),
    ]
    [(crossed_later,)] = _query(
        demo,
        "select count(*) from marts.fct_alerts a join marts.fct_customer_daily_spend d "
        "on a.customer_id = d.customer_id and a.alert_date = d.spend_date "
        "where a.alert_type = 'threshold' and a.amount <> d.spend_to_date",
    )
    assert crossed_later == 0


def test_invoice_totals_sort_numerically_and_download_as_numbers(demo: Settings, browser) -> None:  # noqa: ANN001
    totals = {
        number: total
        for number, total in _query(
            demo,
            "select invoice_number, total from marts.fct_invoice_register where period = '2026-10'",
        )
    }
    [(has_due_dates,)] = _query(
        demo, "select count(due_date) > 0 from marts.fct_invoice_register where period = '2026-10'"
    )
    with streamlit_server(demo) as base:
        page = browser.new_page(viewport={"width": WIDTH, "height": 1000}, accept_downloads=True)
        # the grid saves its CSV through the File System Access API when the browser has it
        # (a save dialog); without it, as a download Playwright can catch
        page.add_init_script("delete window.showSaveFilePicker;")
        page.goto(f"{base}/invoices?period=2026-10&customer=cus_northwind", timeout=TIMEOUT_MS)
        settle(page, "Invoice detail")
        grid = page.get_by_test_id("stDataFrame").first
        box = grid.bounding_box()
        assert box is not None
        # header of "Total": after the selection column and the fixed-width columns before it
        before = ["invoice_number", "customer_name", "status", "issue_date"]
        before += ["due_date"] if has_due_dates else []  # shown only when terms are known
        x = (
            box["x"]
            + 33
            + sum(INVOICE_LIST_WIDTHS[c] for c in before)
            + INVOICE_LIST_WIDTHS["total"] / 2
        )
        page.mouse.click(x, box["y"] + 18)  # ascending
        page.wait_for_timeout(600)
        page.mouse.click(x, box["y"] + 18)  # descending
        page.wait_for_timeout(600)
        shoot(page, "invoices-sorted-by-total")
        grid.hover()
        with page.expect_download(timeout=TIMEOUT_MS) as info:
            grid.get_by_test_id("stElementToolbar").get_by_label("Download as CSV").click()
        saved = ARTIFACTS / "invoice-list.csv"
        info.value.save_as(saved)
        rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
        page.close()
    # 40 customers, 39 invoices: cus_nakatomi is billed on its parent cus_acme's (issue 22)
    assert len(rows) == len(totals) == 39
    shown = [(r["Invoice no."], Decimal(r["Total"])) for r in rows]  # numbers, not "$5,131.21"
    assert dict(shown) == totals  # to the cent
    values = [t for _, t in shown]
    assert values == sorted(values, reverse=True)  # numeric order, not text order
    assert values[0] == max(totals.values())


def test_invoice_selection_and_line_drill_down(demo: Settings, browser) -> None:  # noqa: ANN001
    [(line_no, description, quantity, days, events, file_path)] = _query(
        demo,
        """
        with line as (
            select * from marts.fct_invoice_lines
            where invoice_id = 'cus_northwind:2026-10' and line_type = 'usage'
            order by line_no limit 1
        )
        select line.line_no, line.description, line.quantity,
            (select count(distinct usage_date) from marts.fct_invoice_line_usage_daily d
             where d.invoice_id = line.invoice_id and d.line_key = line.line_key),
            (select count(*) from marts.fct_invoice_line_events e
             where e.invoice_id = line.invoice_id and e.line_key = line.line_key),
            (select min_by(file_path, (event_time, event_source, event_id))
             from marts.fct_invoice_line_events e
             where e.invoice_id = line.invoice_id and e.line_key = line.line_key)
        from line
        """,
    )
    [(third_number, third_id, third_name)] = _query(
        demo,
        "select invoice_number, customer_id, customer_name from marts.fct_invoice_register "
        "where period = '2026-10' order by invoice_number limit 1 offset 2",
    )
    with streamlit_server(demo) as base:
        page = browser.new_page(viewport={"width": WIDTH, "height": 1000})
        # a row selected in the list opens its invoice (and becomes the sidebar customer)
        page.goto(f"{base}/invoices?period=2026-10&customer=cus_northwind", timeout=TIMEOUT_MS)
        settle(page, "Invoice detail")
        box = page.get_by_test_id("stDataFrame").first.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + 16, box["y"] + 35 + 35 * 2 + 17)  # row 3's check box
        settle(page, f"{third_number} · {third_name} ({third_id})")
        assert _sidebar_value(page, "Customer") == f"{third_name} ({third_id})"
        page.wait_for_url(f"**customer={third_id}**", timeout=TIMEOUT_MS)
        page.goto(f"{base}/invoices?period=2026-10&customer=cus_northwind", timeout=TIMEOUT_MS)
        settle(page, "Drill-down")
        box = page.get_by_role("combobox", name="Usage line").first
        assert box.input_value() == f"Line {line_no} · {description}"
        from orchestration.config import settings as _s  # noqa: F401

        settle(page, f"over {days} day(s)", f"First 25 of {events:,} events")
        assert f"(the line bills {_qty(quantity)})" in page.get_by_test_id("stMain").inner_text()
        shoot(page, "invoices-line-drill-down")
        page.close()
    assert file_path.startswith("raw/usage/")


def _qty(value: Decimal) -> str:
    from dashboards.formatting import quantity

    return quantity(value)


def test_url_reproduces_the_view(demo: Settings, browser) -> None:  # noqa: ANN001
    with streamlit_server(demo) as base:
        page = browser.new_page(viewport={"width": WIDTH, "height": 1000})
        page.goto(f"{base}/customer?period=2026-09&customer=cus_acme", timeout=TIMEOUT_MS)
        settle(page, "Invoice history")
        assert "2026-09 · closed" in _sidebar_value(page, "Billing period")
        assert "Acme Inc (cus_acme)" in _sidebar_value(page, "Customer")
        # a change of picker is written back to the URL, and survives a page change
        combo = page.get_by_test_id("stSidebar").get_by_role("combobox", name="Customer")
        combo.click()
        combo.fill("Northwind")
        page.get_by_role("option", name="Northwind Inc (cus_northwind)").click()
        settle(page, "Northwind Inc (cus_northwind)")
        page.wait_for_url("**customer=cus_northwind**", timeout=TIMEOUT_MS)
        assert "period=2026-09" in page.url
        link = page.url
        page.get_by_test_id("stSidebarNavLink").filter(has_text="Invoices").first.click()
        settle(page, "Invoice detail")
        page.wait_for_url("**/invoices?**customer=cus_northwind**", timeout=TIMEOUT_MS)
        page.close()
        # the link in a fresh browser context opens the same view
        context = browser.new_context(viewport={"width": WIDTH, "height": 1000})
        fresh = context.new_page()
        fresh.goto(link, timeout=TIMEOUT_MS)
        settle(fresh, "Invoice history")
        assert "2026-09 · closed" in _sidebar_value(fresh, "Billing period")
        assert "Northwind Inc (cus_northwind)" in _sidebar_value(fresh, "Customer")
        shoot(fresh, "customer-from-link")
        context.close()


CRAFTED_ID = "cus_![x](http://127.0.0.1:9/pwn.png)"
CRAFTED_NAME = "**Evil** [click](http://127.0.0.1:9/) :red[alarm]"


def test_markdown_looking_customer_shown_as_text(tmp_settings: Settings, browser) -> None:  # noqa: ANN001
    build = write_contract_fixture(tmp_settings.data_dir / "build" / "warehouse.duckdb")
    with duckdb.connect(str(build)) as con:
        con.execute(
            "insert into marts.dim_customers (customer_id, customer_name, currency, timezone) "
            "values ($1, $2, 'USD', 'UTC')",
            [CRAFTED_ID, CRAFTED_NAME],
        )
        con.execute(
            "insert into marts.fct_invoice_register "
            "select * replace ($1 as customer_id, $2 as customer_name, $1 || ':2026-10' "
            "as invoice_id) from marts.fct_invoice_register where invoice_id = "
            "'cus_acme:2026-10'",
            [CRAFTED_ID, CRAFTED_NAME],
        )
    publish(build, tmp_settings)
    with streamlit_server(tmp_settings) as base:
        page = browser.new_page(viewport={"width": WIDTH, "height": 1000})
        page.goto(
            f"{base}/invoices?period=2026-10&customer={_quote(CRAFTED_ID)}", timeout=TIMEOUT_MS
        )
        settle(page, "Invoice detail")
        main = page.get_by_test_id("stMain").inner_text()
        side = _sidebar_value(page, "Customer")
        shoot(page, "markdown-customer-as-text")
        assert f"{CRAFTED_NAME} ({CRAFTED_ID})" in main  # the detail header, literally
        assert side == f"{CRAFTED_NAME} ({CRAFTED_ID})"
        assert page.locator("img[src*='pwn.png']").count() == 0
        assert page.locator("a[href^='http://127.0.0.1:9']").count() == 0
        page.goto(f"{base}/customer?period=2026-10&customer={_quote(CRAFTED_ID)}")
        settle(page, "Invoice history")
        assert f"{CRAFTED_NAME} ({CRAFTED_ID})" in page.get_by_test_id("stMain").inner_text()
        assert page.locator("img[src*='pwn.png']").count() == 0
        page.close()


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")
