"""Display formatting for the dashboard: money, quantities, percentages, periods.

Money stays ``Decimal`` until it becomes text here; rounding for display is half away from zero
(the rule PRICING.md uses for invoice lines). Values already rounded to cents are shown unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

import polars as pl

from orchestration.ingest.currencies import minor_units

CURRENCY_SYMBOLS: dict[str, str] = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "CAD": "CA$",
    "AUD": "A$",
}


def _as_decimal(value: Decimal | int | str) -> Decimal:
    if isinstance(value, float):
        raise TypeError("money must be Decimal, not float")
    return value if isinstance(value, Decimal) else Decimal(value)


def _as_number(value: Decimal | int | float | str) -> Decimal:
    """Quantities and percentages (not money) may arrive as floats from a mart."""
    return Decimal(str(value)) if isinstance(value, float) else _as_decimal(value)


def money(value: Decimal | int | str | None, currency: str | None = "USD") -> str:
    """``Decimal('1080')`` → ``"$1,080.00"``; ``-25.96`` → ``"-$25.96"``; JPY without decimals
    (``"¥11,842"``); currencies without a symbol here are
    written after the number (``"1,080.00 CHF"``); ``None`` → ``"—"``."""
    if value is None:
        return "—"
    code = (currency or "USD").upper()
    places = minor_units(code)  # ISO 4217: JPY 0 places ("¥11,842"), USD 2
    amount = _as_decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    sign = "-" if amount < 0 else ""
    digits = f"{abs(amount):,.{places}f}"
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


_MARKDOWN_SPECIAL = set("\\`*_{}[]()#+-.!|<>~:$&=\"'/@%^")


def md_escape(text: object) -> str:
    """User text (ids, names, reasons from reference data) made literal for elements that render
    Markdown (``st.markdown``, ``st.error``, metric labels, ...): every ASCII punctuation
    character is backslash-escaped, so ``![x](http://...)``, links, ``:red[...]`` directives,
    emoji short codes and ``$...$`` math show as typed. Newlines become spaces."""
    value = "—" if text is None else str(text)
    escaped = "".join(f"\\{ch}" if ch in _MARKDOWN_SPECIAL else ch for ch in value)
    return escaped.replace("\r", " ").replace("\n", " ")


def label(column: str) -> str:
    """A column name as a header for people: ``LABELS`` or ``"customer_name"`` →
    ``"Customer name"``."""
    if column in LABELS:
        return LABELS[column]
    text = column.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


# Headers that the generic rule (underscores to spaces, capital first letter) gets wrong or vague.
LABELS: dict[str, str] = {
    "customer_id": "Customer ID",
    "customer_name": "Customer",
    "invoice_id": "Invoice ID",
    "invoice_number": "Invoice no.",
    "line_no": "Line",
    "line_type": "Type",
    "meter_code": "Meter",
    "unit_price": "Unit price",
    "fees_total": "Fees",
    "usage_total": "Usage",
    "discount_total": "Discount",
    "minimum_commitment_total": "Minimum commitment",
    "adjustment_total": "Adjustments",
    "credit_total": "Credits",
    "tax_total": "Tax",
    "is_blocked": "Blocked",
    "blocked_reason": "Why blocked",
    "is_draft_before_issued": "Left open",
    "issue_date": "Issued",
    "due_date": "Due",
    "cogs": "COGS",
    "cogs_total": "COGS",
    "cogs_direct": "COGS direct",
    "cogs_allocated": "COGS allocated (shared)",
    "gross_margin": "Gross margin",
    "margin_pct": "Margin %",
    "markup_pct": "Markup %",
    "margin_flag": "Margin flag",
    "pace_pct": "Pace %",
    "cost_difference_pct": "Cost difference %",
    "threshold_pct": "Threshold %",
    "threshold_amount": "Threshold amount",
    "is_crossed": "Crossed",
    "crossed_on": "Crossed on",
    "is_projected_to_cross": "Projected to cross by month-end",
    "straight_line_to_date": "Pro-rata commitment to date",
    "consumed_to_date": "Consumed to date",
    "committed_amount": "Committed",
    "pace_variance": "Ahead (+) / behind (−) pace",
    "projected_spend": "Projected spend",
    "projected_shortfall": "Projected shortfall",
    "at_risk": "At risk",
    "renewal_due": "Renewal due",
    "days_to_end": "Days to end",
    "contract_end_date": "Contract ends",
    "evaluation_date": "Evaluated on",
    "is_current": "Current",
    "commit_period": "Commitment period",
    "contract_id": "Contract",
    "alert_date": "Date",
    "alert_type": "Alert",
    "amount": "Amount",
    "reference_amount": "Compared with",
    "period_spend_to_date": "Period spend to date",
    "usage_date": "Day",
    "event_count": "Events",
    "raw_rows": "Raw rows",
    "loaded_rows": "Loaded",
    "duplicate_rows": "Duplicates",
    "quarantined_rows": "Quarantined",
    "latest_arrival": "Latest file arrived",
    "latest_load": "Latest load",
    "reason_code": "Reason",
    "reason_detail": "Detail",
    "raw_record": "Raw record",
    "file_path": "File",
    "row_number": "Row",
    "event_id": "Event ID",
    "event_time": "Event time (UTC)",
    "event_source": "Source",
    "metered_tokens": "Metered tokens",
    "reported_tokens": "Reported tokens",
    "token_difference": "Token difference",
    "expected_cost": "Expected cost",
    "billed_cost": "Billed cost",
    "cost_difference": "Cost difference",
    "is_flagged": "Flagged",
    "service_category": "Service category",
    "charge_category": "Charge category",
    "cost_lines": "Cost lines",
    "grant_id": "Grant",
    "expires_at": "Expires",
    "balance_date": "As of",
    "pending_burn": "Pending burn (open period)",
    "available_balance": "Available",
    "burn_rate_daily": "Burn rate per day",
    "projected_exhaustion_date": "Projected exhaustion",
    "projected_unused_at_expiry": "Unused at expiry (projected)",
    "entry_at": "Date",
    "entry_type": "Entry",
    "grant_balance_after": "Grant balance after",
    "customer_balance_after": "Customer balance after",
    "first_usage_date": "First day",
    "last_usage_date": "Last day",
    "unpriced_reason": "Why unpriced",
    "revenue": "Revenue",
    "alerts": "Alerts",
    "thresholds": "Thresholds crossed",
    "hard_limits": "Hard-limit breaches",
    "anomalies": "Anomalies",
    "highest_threshold_pct": "Highest threshold %",
    "first_alert": "First alert",
    "last_alert": "Last alert",
    "spend_at_last_alert": "Spend at last alert",
    "dimensions": "Dimensions",
    "dimension_rows": "Dimension rows",
    "status": "Status",
    "period": "Period",
    "currency": "Currency",
    "quantity": "Quantity",
    "unit": "Unit",
    "description": "Description",
    "line_count": "Lines",
    "passed": "Passed",
    "blocking": "Blocking",
}
