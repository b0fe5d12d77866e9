"""Dashboard display formatting: money as currency text with thousands separators, never float."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from dashboards import formatting as fmt


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        (Decimal("1080.00"), "USD", "$1,080.00"),
        (Decimal("-25.96"), "USD", "-$25.96"),
        (Decimal("1234567.891"), "EUR", "€1,234,567.89"),
        (Decimal("0.005"), "GBP", "£0.01"),  # half away from zero
        (Decimal("-0.005"), "USD", "-$0.01"),
        (Decimal("0.004"), "USD", "$0.00"),
        (Decimal("1080"), "CHF", "1,080.00 CHF"),
        (Decimal("3.125"), None, "$3.13"),
        (Decimal("11842.00"), "JPY", "¥11,842"),  # ISO 4217: yen has no decimals
        (Decimal("-1077"), "JPY", "-¥1,077"),
        (None, "USD", "—"),
    ],
)
def test_money(value: Decimal | None, currency: str | None, expected: str) -> None:
    assert fmt.money(value, currency) == expected


def test_money_refuses_float() -> None:
    with pytest.raises(TypeError):
        fmt.money(1080.0, "USD")  # type: ignore[arg-type]


def test_quantity_percent_period() -> None:
    assert fmt.quantity(Decimal("3400000.000000000")) == "3,400,000"
    assert fmt.quantity(Decimal("1234.500")) == "1,234.5"
    assert fmt.quantity(2001) == "2,001"
    assert fmt.percent(Decimal("86.586")) == "86.6%"
    assert fmt.percent(Decimal("80"), 0) == "80%"
    assert fmt.percent(-12.25) == "-12.3%"
    assert fmt.previous_period("2026-10") == "2026-09"
    assert fmt.previous_period("2026-01") == "2025-12"
    assert fmt.delta_money(Decimal("1119.00"), Decimal("1039.00"), "USD") == "+$80.00"
    assert fmt.delta_money(Decimal("1.00"), Decimal("3.50"), "USD") == "-$2.50"
    assert fmt.delta_money(Decimal("1.00"), None, "USD") is None


def test_money_frame_uses_each_rows_currency() -> None:
    df = pl.DataFrame(
        {"total": [Decimal("1080.00"), Decimal("-5.50")], "currency": ["USD", "EUR"]},
        schema={"total": pl.Decimal(38, 2), "currency": pl.String},
    )
    shown = fmt.money_frame(df, ["total", "absent"])
    assert shown.get_column("total").to_list() == ["$1,080.00", "-€5.50"]


def test_md_escape_keeps_user_text_literal() -> None:
    crafted = "cus_![x](http://h/p.png) **b** :red[a] $x$ <img>"
    escaped = fmt.md_escape(crafted)
    assert escaped == (
        "cus\\_\\!\\[x\\]\\(http\\:\\/\\/h\\/p\\.png\\) \\*\\*b\\*\\* \\:red\\[a\\] \\$x\\$ "
        "\\<img\\>"
    )
    assert fmt.md_escape(None) == "—"
    assert fmt.md_escape("a\nb") == "a b"


def test_labels_for_people() -> None:
    assert fmt.label("is_projected_to_cross") == "Projected to cross by month-end"
    assert fmt.label("straight_line_to_date") == "Pro-rata commitment to date"
    assert fmt.label("some_new_column") == "Some new column"
