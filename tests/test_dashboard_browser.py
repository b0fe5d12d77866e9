"""The dashboard in a real browser: start the app as `meterline dashboard` does, visit every page in
headless Chromium (Debian's, driven by Playwright), assert key text and no exception box, keep the
pickers' state across pages, download an invoice CSV and compare its bytes with the export file.
Screenshots go to tests/artifacts/dashboard/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from orchestration.config import Settings
from tests.support.dashboard import streamlit_server
from tests.test_dashboard_app import NORTHWIND_SEPT_CSV, _fixture

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "dashboard"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 30_000


@pytest.mark.browser
def test_every_page_in_chromium(tmp_settings: Settings) -> None:
    if not CHROMIUM.exists():
        pytest.skip(
            "Debian chromium is not installed at /usr/bin/chromium "
            "(scripts/ensure-chromium.sh installs it)"
        )
    from playwright.sync_api import Page, expect, sync_playwright

    _fixture(tmp_settings)
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)

    def settle(page: Page, *texts: str, shot: str) -> None:
        for text in texts:
            expect(page.get_by_text(text).filter(visible=True).first).to_be_visible(
                timeout=TIMEOUT_MS
            )
        expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=TIMEOUT_MS)
        page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)
        assert page.get_by_test_id("stException").count() == 0, shot

    def nav(page: Page, title: str) -> None:
        page.get_by_test_id("stSidebarNavLink").filter(has_text=title).first.click()

    def choose(page: Page, label: str, option: str) -> None:
        box = page.get_by_test_id("stSelectbox").filter(has_text=label).first
        box.click()
        page.get_by_role("option", name=option).first.click()

    with streamlit_server(tmp_settings) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
            page.goto(base, timeout=TIMEOUT_MS)
            settle(page, "Revenue", "$1,119.00", "$970.40", shot="01-overview")

            choose(page, "Customer", "Northwind Traders (cus_northwind)")
            settle(page, "$1,119.00", shot="01b-overview-northwind")
            nav(page, "Invoices")
            settle(page, "$1,299.00", "cus_northwind", "$1,080.00", "$180.00", shot="02-invoices")

            nav(page, "Customer")
            settle(page, "Usage by meter and model", "$500.00", "$1,100.00", shot="03-customer")
            nav(page, "COGS & margin")
            settle(page, "$148.60", "under-metered", shot="04-cogs")
            nav(page, "Contracts")
            settle(page, "Commitment burn-down", "At risk", shot="05-contracts")
            nav(page, "Alerts")
            settle(page, "Hard limit breached: Acme Corp", shot="06-alerts")
            nav(page, "Data quality")
            settle(page, "Quarantined rows", "succeeded", shot="07-data-quality")

            choose(page, "Billing period", "2026-09")
            nav(page, "Invoices")
            settle(page, "Download INV-202609-00002.csv", shot="08-invoices-2026-09")
            with page.expect_download(timeout=TIMEOUT_MS) as info:
                page.get_by_text("Download INV-202609-00002.csv").click()
            saved = ARTIFACTS / "INV-202609-00002.csv"
            info.value.save_as(saved)
            assert saved.read_bytes() == NORTHWIND_SEPT_CSV
        finally:
            browser.close()
