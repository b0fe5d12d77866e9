"""Data quality: last run, freshness per source, quarantine counts by reason with example rows,
check results."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from dashboards import components as ui
from dashboards import data_access as da


def _last_run() -> None:
    run = da.last_run()
    if run is None:
        st.caption("No run log yet (`<data_dir>/.meterline/last_run.json`).")
        return
    scalars = {k: v for k, v in run.items() if not isinstance(v, (dict, list))}
    cols = st.columns(max(1, min(4, len(scalars))))
    for i, (key, value) in enumerate(scalars.items()):
        cols[i % len(cols)].metric(key.replace("_", " ").capitalize(), str(value))
    checks = run.get("checks")
    if isinstance(checks, list) and checks:
        st.subheader("Check results")
        rows: list[dict[str, Any]] = [
            c if isinstance(c, dict) else {"check": str(c)} for c in checks
        ]
        frame = pl.DataFrame([{k: str(v) for k, v in r.items()} for r in rows])
        ui.show_table(frame, currency_column=None, key="checks")
        failed = [
            r
            for r in rows
            if str(r.get("status", r.get("passed", ""))).lower()
            in {"fail", "failed", "error", "false"}
        ]
        if failed:
            st.error(f"{len(failed)} check(s) failed.")
    elif isinstance(checks, dict) and checks:
        st.subheader("Check results")
        ui.show_table(
            pl.DataFrame({"check": list(checks), "result": [str(v) for v in checks.values()]}),
            currency_column=None,
            key="checks",
        )


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
