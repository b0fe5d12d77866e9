"""Data quality: last run, freshness per source, quarantine counts by reason with example rows,
check results."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from dashboards import components as ui
from dashboards import data_access as da
from dashboards import formatting as fmt


def _rows(items: object) -> list[dict[str, Any]]:
    if not isinstance(items, list):
        return []
    return [i if isinstance(i, dict) else {"value": i} for i in items]


def _frame(rows: list[dict[str, Any]], first: list[str]) -> pl.DataFrame:
    """Rows of the run log as columns (numbers stay numbers, the rest text), the ``first``
    ones leading."""
    keys = list(
        dict.fromkeys(
            [k for k in first if any(k in r for r in rows)] + [k for r in rows for k in r]
        )
    )
    columns: dict[str, pl.Series] = {}
    for k in keys:
        values = [r.get(k) for r in rows]
        numeric = all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in values if v is not None
        ) and any(v is not None for v in values)
        columns[k] = (
            pl.Series(k, values, dtype=pl.Float64)
            if numeric
            else pl.Series(k, [_cell(v) for v in values], dtype=pl.String)
        )
    return pl.DataFrame(columns)


def _cell(value: object) -> str:
    """A run-log value as text for people: yes/no for booleans, empty for missing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _last_run() -> None:
    run = da.last_run()
    if run is None:
        st.caption("No run log yet (`<data_dir>/.meterline/last_run.json`): run `meterline run`.")
        return
    status = str(run.get("status", "unknown"))
    st.metric("Last run", status)
    st.caption(
        f"Started {run.get('started_at') or '—'} · finished {run.get('finished_at') or '—'} (UTC)"
    )
    if status == "failed":
        st.error(fmt.md_escape(f"The last run failed: {run.get('error') or 'see the run log'}"))
    elif status == "running":
        st.warning(
            "A run is in progress (or was interrupted); the snapshot shown is the last "
            "published one."
        )
    stages = _rows(run.get("stages"))
    if stages:
        st.caption("Stages")
        ui.show_table(
            _frame(stages, ["name", "ok", "seconds", "detail"]),
            currency_column=None,
            key="stages",
        )
    checks = _rows(run.get("checks"))
    st.subheader("Check results")
    if not checks:
        st.caption("No check results in the run log.")
        return
    failed = [c for c in checks if c.get("passed") is False]
    blocking = [c for c in failed if c.get("blocking")]
    cols = st.columns(3)
    cols[0].metric("Checks", f"{len(checks):,}")
    cols[1].metric("Failed", f"{len(failed):,}")
    cols[2].metric("Failed, blocking", f"{len(blocking):,}")
    if failed:
        st.error(f"{len(failed)} check(s) failed ({len(blocking)} blocking).")
    ordered = failed + [c for c in checks if c not in failed]
    frame = _frame(ordered, ["asset", "check", "passed", "blocking", "detail"])
    ui.show_table(frame, currency_column=None, key="checks")


def render() -> None:
    st.title("Data quality")
    snap = ui.current_snapshot()
    with ui.section("Last run"):
        _last_run()
    with ui.section("Freshness per source"):
        ui.show_table(
            da.source_freshness(snap),
            currency_column=None,
            quantities=["raw_rows", "loaded_rows", "duplicate_rows", "quarantined_rows"],
            key="freshness",
            empty="No file loaded yet.",
        )
    with ui.section("Quarantine"):
        counts = da.quarantine_counts(snap)
        total = int(counts.get_column("rows").sum()) if counts.height else 0
        st.metric("Quarantined rows", f"{total:,}")
        ui.show_table(
            counts, currency_column=None, key="quarantine_counts", empty="No quarantined rows."
        )
        if total:
            st.caption("Example rows (first 3 per reason)")
            ui.show_table(
                da.quarantine_examples(snap), currency_column=None, key="quarantine_examples"
            )


render()
