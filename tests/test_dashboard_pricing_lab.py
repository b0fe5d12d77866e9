"""The Pricing lab page on a snapshot without scenario marts (Streamlit AppTest): one message
naming what is missing, no exception. With scenario results: tests/test_rating_pricing_lab.py
(real build, real browser)."""

from __future__ import annotations

from orchestration.config import Settings
from tests.test_dashboard_app import open_page, published, texts

__all__ = ["published"]


def test_pricing_lab_without_scenario_marts(published: Settings) -> None:
    at = open_page("pricing_lab")
    assert [t.value for t in at.title] == ["Pricing lab"]
    assert "Not available yet" in texts(at)
    assert "fct_scenario_invoices" in texts(at)
