"""How money and quantities are written as text in every document (CSV, HTML, PDF): one place.

Amounts are already rounded by the marts (PRICING.md: rounding happens once, on the line); these
functions only format."""

from __future__ import annotations

from decimal import Decimal

__all__ = ["money", "plain_decimal"]


def plain_decimal(value: Decimal) -> str:
    """A decimal without exponent and without trailing zeros: 1E+6 -> 1000000, 2.50 -> 2.5."""
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


def money(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")
