"""Display formatting for the dashboard: money, quantities, percentages, periods.

Money stays ``Decimal`` until it becomes text here; rounding for display is half away from zero
(the rule PRICING.md uses for invoice lines). Values already rounded to cents are shown unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

import polars as pl

CURRENCY_SYMBOLS: dict[str, str] = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "CAD": "CA$",
    "AUD": "A$",
}

_CENT = Decimal("0.01")


def _as_decimal(value: Decimal | int | str) -> Decimal:
    if isinstance(value, float):
        raise TypeError("money must be Decimal, not float")
    return value if isinstance(value, Decimal) else Decimal(value)


def _as_number(value: Decimal | int | float | str) -> Decimal:
    """Quantities and percentages (not money) may arrive as floats from a mart."""
    return Decimal(str(value)) if isinstance(value, float) else _as_decimal(value)


def money(value: Decimal | int | str | None, currency: str | None = "USD") -> str:
    """``Decimal('1080')`` → ``"$1,080.00"``; ``-25.96`` → ``"-$25.96"``; unknown currencies are
    written after the number (``"1,080.00 CHF"``); ``None`` → ``"—"``."""
    if value is None:
        return "—"
    amount = _as_decimal(value).quantize(_CENT, rounding=ROUND_HALF_UP)
    sign = "-" if amount < 0 else ""
    digits = f"{abs(amount):,.2f}"
    code = (currency or "USD").upper()
    symbol = CURRENCY_SYMBOLS.get(code)
    if symbol is None:
        return f"{sign}{digits} {code}"
    return f"{sign}{symbol}{digits}"


def quantity(value: Decimal | int | float | str | None) -> str:
    """Thousands separators, no trailing zeros: ``Decimal('3400000.000')`` → ``"3,400,000"``."""
    if value is None:
        return "—"
    number = _as_number(value)
    if number == number.to_integral_value():
        return f"{number.to_integral_value():,}"
    return f"{number.normalize():,f}"


def percent(value: Decimal | int | float | str | None, places: int = 1) -> str:
    """A percentage already expressed in percent: ``Decimal('12.345')`` → ``"12.3%"``."""
    if value is None:
        return "—"
    step = Decimal(1).scaleb(-places)
    return f"{_as_number(value).quantize(step, rounding=ROUND_HALF_UP):,}%"


def delta_money(current: Decimal | None, previous: Decimal | None, currency: str) -> str | None:
    """The change from ``previous`` to ``current`` as signed money text, for ``st.metric``."""
    if current is None or previous is None:
        return None
    change = current - previous
    text = money(change, currency)
    return text if change < 0 else f"+{text}"


def previous_period(period: str) -> str:
    """``"2026-10"`` → ``"2026-09"``; ``"2026-01"`` → ``"2025-12"``."""
    year, month = (int(part) for part in period.split("-"))
    if month == 1:
        return f"{year - 1}-12"
    return f"{year}-{month - 1:02d}"


def money_frame(
    df: pl.DataFrame,
    columns: Iterable[str],
    currency_column: str | None = "currency",
    default_currency: str = "USD",
) -> pl.DataFrame:
    """Replace the money ``columns`` of ``df`` by their formatted text (per row currency)."""
    present = [c for c in columns if c in df.columns]
    if not present or df.is_empty():
        return df
    currencies = (
        df.get_column(currency_column).to_list()
        if currency_column and currency_column in df.columns
        else [default_currency] * df.height
    )
    replacements = [
        pl.Series(
            name,
            [
                money(v, cur or default_currency)
                for v, cur in zip(df.get_column(name).to_list(), currencies, strict=True)
            ],
            dtype=pl.String,
        )
        for name in present
    ]
    return df.with_columns(replacements)


def quantity_frame(df: pl.DataFrame, columns: Iterable[str]) -> pl.DataFrame:
    """Replace the quantity ``columns`` of ``df`` by text with thousands separators."""
    present = [c for c in columns if c in df.columns]
    if not present or df.is_empty():
        return df
    return df.with_columns(
        [
            pl.Series(name, [quantity(v) for v in df.get_column(name).to_list()], dtype=pl.String)
            for name in present
        ]
    )


def percent_frame(df: pl.DataFrame, columns: Iterable[str]) -> pl.DataFrame:
    """Replace the percentage ``columns`` of ``df`` by text like ``"12.3%"``."""
    present = [c for c in columns if c in df.columns]
    if not present or df.is_empty():
        return df
    return df.with_columns(
        [
            pl.Series(name, [percent(v) for v in df.get_column(name).to_list()], dtype=pl.String)
            for name in present
        ]
    )
