"""orchestration/summaries.py without dbt: rendering, file names, week validation, atomic
writes from a mart table in a real DuckDB file."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from orchestration.config import Settings
from orchestration.summaries import (
    WeeklySummary,
    file_name,
    render_summary,
    write_weekly_summaries,
)
from orchestration.warehouse import connect

D = dt.date


def _row(**kw: object) -> WeeklySummary:
    base: dict[str, object] = dict(
        customer_id="cus_x",
        customer_name="X_Corp | *Ltd*",
        currency="EUR",
        iso_week="2026-W43",
        week_start=D(2026, 10, 19),
        week_end=D(2026, 10, 26),
        is_complete_week=False,
        as_of_date=D(2026, 10, 20),
        spend=Decimal("1234.5"),
        fees=Decimal("0"),
        usage_spend=Decimal("1300.00"),
        discount=Decimal("-65.50"),
        previous_week_spend=Decimal("0.00"),
        spend_change=Decimal("1234.50"),
        spend_change_pct=None,
        top_model=None,
        top_model_spend=None,
        peak_day=None,
        peak_day_spend=None,
    )
    base.update(kw)
    return WeeklySummary(**base)  # type: ignore[arg-type]


def test_render_partial_week_without_last_week() -> None:
    md = render_summary(_row())
    assert md.splitlines()[:3] == [
        r"# Weekly usage summary: X\_Corp \| \*Ltd\*",
        "",
        "Customer `cus_x`, week 2026-W43 (2026-10-19 to 2026-10-25, partial week, data to "
        "2026-10-20).",
    ]
    assert "| Spend this week | 1,234.50 EUR |" in md
    assert "| Discounts | -65.50 EUR |" in md
    assert "| Change | +1,234.50 EUR (n/a) |" in md
    assert "| Top model | - |" in md
    assert "| Peak day | - |" in md


def test_render_a_drop() -> None:
    md = render_summary(_row(spend_change=Decimal("-90.00"), spend_change_pct=Decimal("-97.83")))
    assert "| Change | -90.00 EUR (-97.83%) |" in md


def test_file_names_stay_in_their_directory() -> None:
    assert file_name("cus_acme") == "cus_acme.md"
    assert file_name("../etc/passwd") == "_._etc_passwd.md"
    assert file_name(".hidden") == "_hidden.md"


def test_week_must_be_iso(tmp_settings: Settings) -> None:
    with pytest.raises(ValueError, match="2026-W42"):
        write_weekly_summaries(tmp_settings, "2026-42")


def test_writes_latest_complete_week_from_the_mart(tmp_settings: Settings) -> None:
    cols = (
        "customer_id varchar, customer_name varchar, currency varchar, iso_week varchar, "
        "week_start date, week_end date, is_complete_week boolean, as_of_date date, "
        "spend decimal(38,2), fees decimal(38,2), usage_spend decimal(38,2), "
        "discount decimal(38,2), previous_week_spend decimal(38,2), spend_change decimal(38,2), "
        "spend_change_pct decimal(18,2), top_model varchar, top_model_spend decimal(38,2), "
        "peak_day date, peak_day_spend decimal(38,2)"
    )
    with connect(tmp_settings.warehouse) as con:
        con.execute("create schema marts")
        con.execute(f"create table marts.fct_weekly_usage_summary ({cols})")
        con.execute("""insert into marts.fct_weekly_usage_summary values
            ('cus_b', 'B', 'USD', '2026-W42', '2026-10-12', '2026-10-19', true, '2026-10-20',
             10, 0, 10, 0, 5, 5, 100, 'm1', 10, '2026-10-13', 10),
            ('cus_a', 'A', 'USD', '2026-W42', '2026-10-12', '2026-10-19', true, '2026-10-20',
             0, 0, 0, 0, 0, 0, null, null, null, null, null),
            ('cus_a', 'A', 'USD', '2026-W43', '2026-10-19', '2026-10-26', false, '2026-10-20',
             1, 1, 0, 0, 0, 1, null, null, null, '2026-10-19', 1)""")
    paths = write_weekly_summaries(tmp_settings)
    base: Path = tmp_settings.exports_dir / "summaries" / "2026-W42"
    assert paths == [base / "cus_a.md", base / "cus_b.md"]
    assert "| Top model | m1 (10.00 USD) |" in (base / "cus_b.md").read_text()
    assert "| Change | +5.00 USD (+100.00%) |" in (base / "cus_b.md").read_text()
    assert sorted(p.name for p in base.iterdir()) == ["cus_a.md", "cus_b.md"]
