"""Weekly usage summaries as Markdown: one file per customer and ISO week, written from the mart
``marts.fct_weekly_usage_summary`` (the numbers are the mart's, never recomputed here).

Layout: ``<exports>/summaries/<YYYY-Www>/<customer_id>.md``. Each file is written to a temporary
file in the same directory and moved into place with ``os.replace``, so a reader never sees a
half-written summary. The content depends only on the mart row: same warehouse, same bytes.
Independent of Dagster; the orchestration layer may call it from an asset.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from orchestration.config import Settings
from orchestration.warehouse import connect

MART = "marts.fct_weekly_usage_summary"
_WEEK = re.compile(r"^\d{4}-W\d{2}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.@-]")
_COLUMNS = (
    "customer_id",
    "customer_name",
    "currency",
    "iso_week",
    "week_start",
    "week_end",
    "is_complete_week",
    "as_of_date",
    "spend",
    "fees",
    "usage_spend",
    "discount",
    "previous_week_spend",
    "spend_change",
    "spend_change_pct",
    "top_model",
    "top_model_spend",
    "peak_day",
    "peak_day_spend",
)


@dataclass(frozen=True)
class WeeklySummary:
    customer_id: str
    customer_name: str | None
    currency: str
    iso_week: str
    week_start: date
    week_end: date  # exclusive
    is_complete_week: bool
    as_of_date: date
    spend: Decimal
    fees: Decimal
    usage_spend: Decimal
    discount: Decimal
    previous_week_spend: Decimal
    spend_change: Decimal
    spend_change_pct: Decimal | None
    top_model: str | None
    top_model_spend: Decimal | None
    peak_day: date | None
    peak_day_spend: Decimal | None


def money(amount: Decimal | None, currency: str) -> str:
    """``1234.5`` -> ``1,234.50 USD``; ``None`` -> ``-``."""
    if amount is None:
        return "-"
    return f"{amount.quantize(Decimal('0.01')):,.2f} {currency}"


def signed_money(amount: Decimal, currency: str) -> str:
    sign = "+" if amount > 0 else ""
    return sign + money(amount, currency)


def percent(pct: Decimal | None) -> str:
    """A change in percent with its sign; ``None`` (no spend last week) -> ``n/a``."""
    if pct is None:
        return "n/a"
    sign = "+" if pct > 0 else ""
    return f"{sign}{pct.quantize(Decimal('0.01'))}%"


def _md_text(text: str) -> str:
    """Escape Markdown table/emphasis characters in names that come from reference data."""
    return re.sub(r"([\\`*_\[\]|<>#])", r"\\\1", text)


def render_summary(row: WeeklySummary) -> str:
    """The Markdown of one customer-week (deterministic: no clock, fixed formatting)."""
    cur = row.currency
    last_day = row.week_end - timedelta(days=1)
    name = _md_text(row.customer_name or row.customer_id)
    status = "complete week" if row.is_complete_week else f"partial week, data to {row.as_of_date}"
    top = (
        f"{_md_text(row.top_model)} ({money(row.top_model_spend, cur)})"
        if row.top_model is not None
        else "-"
    )
    peak = f"{row.peak_day} ({money(row.peak_day_spend, cur)})" if row.peak_day is not None else "-"
    lines = [
        f"# Weekly usage summary: {name}",
        "",
        f"Customer `{row.customer_id}`, week {row.iso_week} "
        f"({row.week_start} to {last_day}, {status}).",
        "",
        "| | |",
        "|---|---:|",
        f"| Spend this week | {money(row.spend, cur)} |",
        f"| Subscription fees | {money(row.fees, cur)} |",
        f"| Usage | {money(row.usage_spend, cur)} |",
        f"| Discounts | {money(row.discount, cur)} |",
        f"| Spend last week | {money(row.previous_week_spend, cur)} |",
        f"| Change | {signed_money(row.spend_change, cur)} ({percent(row.spend_change_pct)}) |",
        f"| Top model | {top} |",
        f"| Peak day | {peak} |",
        "",
        "Spend = subscription fees + usage after discounts, as rated to date; credits and tax are "
        "not deducted.",
        "",
    ]
    return "\n".join(lines)


def file_name(customer_id: str) -> str:
    """``<customer_id>.md`` with characters unsafe in a file name replaced by ``_`` (a customer
    id never escapes the week's directory)."""
    name = _UNSAFE.sub("_", customer_id)
    if name.startswith("."):
        name = "_" + name[1:]
    return f"{name}.md"


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_summaries(s: Settings, week: str | None = None) -> list[WeeklySummary]:
    """Rows of the mart for ``week`` (``YYYY-Www``), default the latest complete week in it,
    ordered by customer id."""
    if week is not None and not _WEEK.match(week):
        raise ValueError(f"week must look like 2026-W42, got {week!r}")
    cols = ", ".join(_COLUMNS)
    with connect(s.warehouse, read_only=True) as con:
        if week is None:
            found = con.execute(
                f"select max(iso_week) from {MART} where is_complete_week"
            ).fetchone()
            week = found[0] if found else None
            if week is None:
                return []
        rows = con.execute(
            f"select {cols} from {MART} where iso_week = ? order by customer_id", [week]
        ).fetchall()
    return [WeeklySummary(*r) for r in rows]


def write_weekly_summaries(s: Settings, week: str | None = None) -> list[Path]:
    """Write ``exports/summaries/<YYYY-Www>/<customer_id>.md`` for every customer of ``week``
    (default: the latest complete ISO week in the mart); return the paths written, sorted."""
    written: list[Path] = []
    for row in load_summaries(s, week):
        path = s.exports_dir / "summaries" / row.iso_week / file_name(row.customer_id)
        _atomic_write(path, render_summary(row))
        written.append(path)
    return sorted(written)
