"""ISO 4217 currency codes, from a kept list (``pycountry``'s copy of the ISO 4217 active codes,
updated with each pycountry release), for reference files and provider exports.

Accepted: every active ISO 4217 alphabetic code except the ones that are not money a customer can
be billed or a provider can charge in: precious metals (XAU, XAG, XPD, XPT), bond-market units
(XBA-XBD), the IMF/fund units (XDR, XSU, XUA), the testing code XTS and "no currency" XXX.
Historic codes (DEM, FRF, ...) are not in the active list, so they are refused too."""

from __future__ import annotations

from functools import lru_cache

from orchestration.ingest.sqlexpr import lit

NOT_MONEY = frozenset(
    {"XAG", "XAU", "XPD", "XPT", "XBA", "XBB", "XBC", "XBD", "XDR", "XSU", "XUA", "XTS", "XXX"}
)


@lru_cache(maxsize=1)
def iso_currencies() -> frozenset[str]:
    import pycountry

    return frozenset(c.alpha_3 for c in pycountry.currencies) - NOT_MONEY


def is_iso_currency(code: str) -> bool:
    """``code`` (exactly as written: upper case, no spaces) is an accepted ISO 4217 code."""
    return code in iso_currencies()


def sql_currency_list() -> str:
    """The accepted codes as a DuckDB list literal (sorted)."""
    return "[" + ", ".join(lit(c) for c in sorted(iso_currencies())) + "]"


def sql_invalid_currency(text: str, json_value: str | None = None) -> str:
    """SQL predicate: a present currency that is not an accepted ISO 4217 code (compared upper
    case: OpenAI writes ``usd``). ``json_value``: the JSON value the text came from; a currency
    that is not a JSON string (``"currency": 7``) is invalid whatever its text."""
    present = f"nullif(trim({text}), '') is not null"
    bad = f"not list_contains({sql_currency_list()}, upper(trim({text})))"
    if json_value is not None:
        bad = f"({bad} or json_type({json_value}) <> 'VARCHAR')"
    return f"coalesce({present} and {bad}, false)"
