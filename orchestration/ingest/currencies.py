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


# ISO 4217 minor units (the exponent: how many decimal places the currency's amounts have), for
# the codes whose minor unit is not 2 (ISO 4217 list one, "Minor unit" column; pycountry does not
# carry it). Every other accepted code has 2. The same table is the dbt var
# `currency_minor_units` (dbt_project.yml), which the macro `currency_minor_units()` reads; a test
# (tests/test_fx_currencies.py) keeps the two equal.
MINOR_UNITS_NOT_2: dict[str, int] = {
    # 0 decimal places
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    # 3 decimal places
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    # 4 decimal places
    "CLF": 4, "UYW": 4,
}  # fmt: skip

# Money columns of the warehouse are DECIMAL(38,2) after rounding (docs/design.md): a currency
# whose minor unit is finer than a cent (BHD, KWD: 3 places) cannot be billed exactly yet, so it is
# refused on load instead of being rounded to 2 places silently.
MAX_BILLABLE_MINOR_UNITS = 2


def minor_units(code: str) -> int:
    """ISO 4217 exponent of ``code``: JPY 0, USD 2, BHD 3."""
    return MINOR_UNITS_NOT_2.get(code, 2)


def billing_currency_problem(code: str) -> str | None:
    """Why amounts cannot be billed in ``code`` (an accepted ISO 4217 code), else None."""
    units = minor_units(code)
    if units > MAX_BILLABLE_MINOR_UNITS:
        return (
            f"{code!r} has {units} decimal places (ISO 4217 minor unit); meterline bills "
            f"currencies with at most {MAX_BILLABLE_MINOR_UNITS} (amounts are stored to the "
            "cent), so it is not supported yet"
        )
    return None
