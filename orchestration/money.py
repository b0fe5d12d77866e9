"""How money and quantities are written as text in every document (CSV, HTML, PDF): one place.

Amounts are already rounded by the marts (PRICING.md: rounding happens once, on the line, to the
currency's minor unit); these functions only format. An amount is written with its currency's
ISO 4217 minor units: 1234 JPY, 12.30 USD."""

from __future__ import annotations

from decimal import Decimal

from orchestration.ingest.currencies import minor_units

__all__ = ["money", "money_places", "plain_decimal"]


def plain_decimal(value: Decimal) -> str:
    """A decimal without exponent and without trailing zeros: 1E+6 -> 1000000, 2.50 -> 2.5."""
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


def money_places(currency: str | None) -> int:
    """Decimal places amounts in ``currency`` are written with (2 when unknown)."""
    return minor_units(currency.strip().upper()) if currency else 2


def money(value: Decimal, currency: str | None = None) -> str:
    """``value`` with the minor units of ``currency`` (2 places without one). An amount that is
    not a whole number of minor units (12.50 JPY) was not rounded where money is rounded: that
    is an error, never a silent rounding here."""
    places = money_places(currency)
    quantum = Decimal(1).scaleb(-places)
    out = value.quantize(quantum)
    if currency is not None and out != value:
        raise ValueError(
            f"amount {value} {currency} is not a whole number of the currency's minor unit "
            f"({places} decimal places): amounts are rounded in the marts, not when written"
        )
    return format(out, "f")
