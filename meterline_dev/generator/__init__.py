"""`meterline generate`: a complete, deterministic demo data directory.

What it writes (``out`` is the data directory):

- ``raw/usage/events_<YYYY-MM-DD>.jsonl|.parquet``: one batch file per UTC usage day.
  JSONL is nested CloudEvents 1.0 (``time`` like ``2026-10-03T14:22:05.123Z``); Parquet has the
  same fields flat (``specversion, id, source, type, subject, time`` + every ``data`` key; ``time``
  is the same ISO text; absent keys are NULL). ``usage_format="mixed"``: odd days of the month
  JSONL, even days Parquet.
- ``raw/usage/events_<YYYY-MM-DD>_late.jsonl``: late arrivals, dated the first day after a month
  that ended inside the range, holding ~3% of the events of that month's last 3 days (those
  events are absent from their day files).
- ``raw/costs/openai/``: Costs API pages (``costs_<first>_<last>.json``, group_by line_item,
  dollars as JSON numbers with ≤12 decimals written from Decimal), Usage API completions and
  embeddings pages (group_by model, daily buckets, 7 a page, ``has_more``/``next_page`` chained,
  a trailing empty bucket the day after the last usage day).
- ``raw/costs/anthropic/``: ``cost_report_*`` (group_by description, amount = cents as a decimal
  string, ≤5 decimals) and ``usage_report_messages_*`` (group_by model) pages.
- ``raw/costs/focus/cloudgpu_<YYYY-MM>.csv`` (FOCUS 1.0: GPU instances ``Compute``, object
  storage ``Storage``) and ``pinecone_<YYYY-MM>.csv`` (FOCUS 1.2: vector database ``Databases``);
  some rows carry ``Tags`` ``{"customer_id": ...}``. Sized from the usage they carried: the
  shared GPU fleet runs, per UTC day and GPU type, the jobs' GPU-seconds / 3600 / 0.7
  utilisation instance-hours (one row per instance, <= 24 h) at $2.99 (H100) / $1.79 (A100)
  list; object storage is the platform's 500 GB + each customer's peak stored GB so far at
  $0.023 per GB-month; the vector DB costs ~$5-6 a day. Tagged: customers[0]'s dedicated,
  always-on H100 endpoint (24 h a day) and customers[3]'s dedicated index.
- ``reference/``: meters.yml, plans/<code>_v<version>.yml, customers.csv, subscriptions.csv,
  contracts.csv, credit_grants.csv, budgets.csv, provider_prices.csv, cost_allocation.yml.
- ``generator_truth.json``: the ground truth of everything planted (tests read it).

Shape: Zipf-like customer weights (a few carry most usage), weekday and local-hour rhythm, five
LLM models over two providers plus embeddings, images, audio, GPU jobs, agent tasks and storage.
Every customer's usage lies inside its own billing window in its local time (real UTC offset,
DST included): from local 00:00 of its subscription start to local 23:59:59 of the last usage
day; on the UTC days at the edges, events that would fall outside are redrawn among the hours
inside. Day files stay UTC days. Margins (default data): most customers between ~55 % and
~75 %, enterprise customers with light usage higher (their fee); customers[0] is planted
unprofitable (40 % term discount + its dedicated H100; truth ``reference.unprofitable_customer``).

Planted, and recorded in ``generator_truth.json``:

- ~1% failed requests (``status: error``: metered, never billed by providers);
- ~0.5% exact duplicate deliveries: ~0.4% repeats at the end of the same file (a retry burst),
  and ~0.1% redeliveries: rows of the previous day's file repeated, unchanged, at the start of
  the next day's file (never into or out of a late file); ~0.05% conflicts (same (source, id)
  as an earlier row of the file, different output_tokens). The first delivery is the one kept
  and billed. Per file the truth tells ``duplicate_rows_same_file`` (exact repeats and
  conflicts) and ``duplicate_rows_earlier_file`` (redeliveries), as the ingester counts them:
  files load in path order, and ``events_<day>.*`` sorts before ``events_<day>_late.jsonl``;
- ~0.1% malformed rows, one reason each, dealt in rotation across files so every reason gets its
  share (a file under 2,000 rows gets one of every reason): ``unparseable`` (a line cut in
  half), ``missing_id``, ``missing_subject``, ``missing_time``, ``invalid_time``,
  ``invalid_quantity`` (``"output_tokens":"123x"``), ``negative_quantity`` (output_tokens),
  ``future_time`` (5 days after the file's date), ``unknown_customer``,
  ``unknown_event_type``. ``unparseable`` and ``invalid_quantity`` are planted in JSONL files
  only: Parquet columns are typed, so neither can be written there;
- late events (above); one mid-size customer (time zone UTC) with a 10x day;
- ``claude-haiku-4-5-20251001`` on three consecutive weekdays: the provider reports and bills
  tokens x 1.02 (every other provider x model x day agrees exactly with billable usage x prices);
- a negotiated gpt-4o output price (provider_prices.csv) from the override date, applied in the
  OpenAI costs; dall-e-3's per-image price comes from provider_prices.csv too.

Provider exports count only billable usage: clean (not malformed), first delivery, successful.
Every day is generated and written on its own, with a per-day seed, so the same seed gives
byte-identical files. Memory is bounded by about two days of events: one helper thread generates
the next day and another writes the previous file while the current day is planted (NumPy,
Polars and the file writers release the GIL). The report gives events/s (wall) and events per
CPU-second (all threads; independent of other load on the machine). Per-event text (ids, ISO
times, JSONL lines) is built on whole columns: lookup tables of fixed-width byte strings, one
flat Polars concatenation per event type, and the JSONL bytes written straight from the Arrow
buffer.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from concurrent.futures import Future, ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from meterline_dev.generator import usage
from meterline_dev.generator.exports import (
    PriceBook,
    provider_price_rows,
    write_anthropic,
    write_focus,
    write_openai,
)
from meterline_dev.generator.reference import write_reference
from meterline_dev.generator.scenario import Scenario, build_scenario

__all__ = ["generate"]

USAGE_FORMATS = ("jsonl", "parquet", "mixed")


def _file_format(usage_format: str, day: dt.date) -> str:
    if usage_format == "mixed":
        return "jsonl" if day.day % 2 else "parquet"
    return usage_format


def _local_periods(df: pl.DataFrame, scn: Scenario) -> dict[str, int]:
    zones = pl.DataFrame(
        {
            "subject": [c.customer_id for c in scn.customers],
            "tz": [c.timezone for c in scn.customers],
        }
    )
    joined = df.select(pl.col("subject").cast(pl.String), "_ts").join(
        zones, on="subject", how="left"
    )
    out: dict[str, int] = {}
    for tz in sorted(set(joined["tz"].to_list())):
        part = joined.filter(pl.col("tz") == tz).select(
            pl.col("_ts")
            .cast(pl.Datetime("ms", "UTC"))
            .dt.convert_time_zone(tz)
            .dt.strftime("%Y-%m")
            .alias("p")
        )
        for p, n in part.group_by("p").len().iter_rows():
            out[p] = out.get(p, 0) + n
    return dict(sorted(out.items()))


def _monthly_cost(agg: pl.DataFrame, book: PriceBook) -> dict[str, dict[str, Decimal]]:
    per = (
        agg.with_columns(
            month=pl.col("date").dt.strftime("%Y-%m"), first=pl.col("date").dt.month_start()
        )
        .group_by("subject", "month", "first", "provider", "model", "type")
        .agg(pl.exclude("date").sum())
        .sort("subject", "month", "model", "type")
    )
    out: dict[str, dict[str, Decimal]] = {}
    for r in per.iter_rows(named=True):  # customers x months x models: small
        p, m, d = r["provider"], r["model"], r["first"]
        if r["type"] == "llm.completion":
            uncached = r["input_tokens"] - r["cached_input_tokens"] - r["cache_write_tokens"]
            cost = (
                uncached * book.unit_price(p, m, d, "input")
                + r["cached_input_tokens"] * book.unit_price(p, m, d, "cached_input")
                + r["cache_write_tokens"] * book.unit_price(p, m, d, "cache_write")
                + r["output_tokens"] * book.unit_price(p, m, d, "output")
            )
        elif r["type"] == "embedding":
            cost = r["input_tokens"] * book.unit_price(p, m, d, "input")
        elif r["type"] == "image.generation":
            cost = r["images"] * book.unit_price(p, m, d, "image")
        else:
            cost = Decimal(r["audio_tenths"]) / 10 * book.unit_price(p, m, d, "audio_second")
        months = out.setdefault(r["subject"], {})
        months[r["month"]] = months.get(r["month"], Decimal(0)) + cost
    return out


def generate(
    out: Path,
    *,
    customers: int,
    events: int,
    start: dt.date,
    days: int,
    seed: int,
    usage_format: str = "mixed",
    progress: bool = True,
) -> str:
    """Write a complete demo data directory into ``out``; return a short human report."""
    if usage_format not in USAGE_FORMATS:
        raise ValueError(f"usage_format must be one of {USAGE_FORMATS}, not {usage_format!r}")
    t0 = time.perf_counter()
    c0 = time.process_time()  # CPU of every thread of the process: independent of other load
    out = Path(out)
    scn = build_scenario(customers=customers, start=start, days=days, seed=seed)
    usage_dir = out / "raw" / "usage"
    usage_dir.mkdir(parents=True, exist_ok=True)
    counts = usage.day_counts(scn, events)
    late_files = scn.late_files()
    late_buffer: dict[dt.date, list[pl.DataFrame]] = {}
    files: dict[str, dict[str, object]] = {}
    aggs: list[pl.DataFrame] = []
    infra: list[pl.DataFrame] = []
    daily: list[pl.DataFrame] = []
    late_truth: dict[str, dict[str, object]] = {}

    reason_offsets: dict[tuple[str, ...], int] = {}
    pending: list[Future[None]] = []  # the file being written
    carry: list[pl.DataFrame] = []  # the previous day file's rows to redeliver

    def emit(
        rows_df: pl.DataFrame,
        name: str,
        fmt: str,
        file_day: dt.date,
        usage_dates: list[str],
        rng: np.random.Generator,
        redelivered: pl.DataFrame | None,
    ) -> pl.DataFrame:
        reasons = usage.REASONS if fmt == "jsonl" else usage.PARQUET_REASONS
        planted = usage.plant_faults(
            rows_df,
            rng,
            file_day,
            reasons,
            reason_offset=reason_offsets.get(reasons, 0),
            redelivered=redelivered,
        )
        tally = planted.tally
        reason_offsets[reasons] = reason_offsets.get(reasons, 0) + sum(tally.malformed.values())
        path = usage_dir / name
        writer = usage.write_jsonl if fmt == "jsonl" else usage.write_parquet
        if pending:  # at most one file waits to be written (memory stays bounded)
            pending.pop().result()
        pending.append(io_pool.submit(writer, planted.rows, path))
        entry = tally.as_dict()
        entry.update(
            format=fmt,
            arrival_date=file_day.isoformat(),
            usage_dates=usage_dates,
            failed_rows=int(
                planted.clean.select((pl.col("status") == "error").sum()).collect().item()
            ),
        )
        files[f"raw/usage/{name}"] = entry
        aggs.append(usage.aggregate_clean(planted.clean))
        infra.append(usage.aggregate_infra(planted.clean))
        return planted.redeliver

    columns = [
        TextColumn("[bold]generate[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("days · {task.fields[events]:,} events"),
        TimeElapsedColumn(),
    ]
    # two helper threads (NumPy / Polars release the GIL): the next day is generated and the
    # previous file written while this day's faults are planted; each day has its own seed, so
    # the bytes do not depend on the timing
    with (
        Progress(*columns, disable=not progress, transient=False) as bar,
        ThreadPoolExecutor(max_workers=1) as gen_pool,
        ThreadPoolExecutor(max_workers=1) as io_pool,
    ):
        task = bar.add_task("days", total=scn.days, events=0)
        done = 0
        usage_days = scn.usage_days()
        next_df = gen_pool.submit(usage.generate_day, scn, 0, counts[0])
        for i, day in enumerate(usage_days):
            df = next_df.result()
            if i + 1 < len(usage_days):
                next_df = gen_pool.submit(usage.generate_day, scn, i + 1, counts[i + 1])
            daily.append(
                df.group_by("subject")
                .len()
                .with_columns(pl.col("subject").cast(pl.String), date=pl.lit(day))
            )
            late_day = next((ld for me, ld in late_files.items() if 0 <= (me - day).days < 3), None)
            if late_day is not None:
                pick = np.random.default_rng([seed, 2, i]).random(df.height) < usage.LATE_SHARE
                late_buffer.setdefault(late_day, []).append(df.filter(pl.Series(pick)))
                df = df.filter(~pl.Series(pick))
            fmt = _file_format(usage_format, day)
            nxt = emit(
                df,
                f"events_{day.isoformat()}.{fmt}",
                fmt,
                day,
                [day.isoformat()],
                np.random.default_rng([seed, 3, i]),
                carry.pop() if carry else None,
            )
            carry.append(nxt)
            if day in late_files:
                ld = late_files[day]
                late = pl.concat(late_buffer.pop(ld)).sort("_ts", "_seq")
                name = f"events_{ld.isoformat()}_late.jsonl"
                dates = sorted({(day - dt.timedelta(days=k)).isoformat() for k in range(3)})
                emit(late, name, "jsonl", ld, dates, np.random.default_rng([seed, 4, i]), None)
                late_truth[f"raw/usage/{name}"] = {
                    "events": late.height,
                    "utc_dates": dates,
                    "period_utc": day.strftime("%Y-%m"),
                    "events_by_local_period": _local_periods(late, scn),
                }
            done += counts[i]
            bar.update(task, advance=1, events=done)
        for f in pending:
            f.result()
    t_usage = time.perf_counter() - t0
    c_usage = time.process_time() - c0

    agg = (
        pl.concat(aggs)
        .group_by("date", "subject", "provider", "model", "type")
        .agg(pl.all().sum())
        .sort("date", "subject", "provider", "model", "type")
    )
    book = PriceBook(provider_price_rows(scn))
    export_days = scn.usage_days()
    openai_truth = write_openai(out, scn, agg, book, export_days)
    anthropic_truth = write_anthropic(out, scn, agg, book, export_days)
    infra_daily = (
        pl.concat(infra)
        .group_by("date", "subject")
        .agg(pl.col("h100_millis", "a100_millis").sum(), pl.col("gb_milli").max())
        .sort("date", "subject")
    )
    focus_truth = write_focus(out, scn, export_days, infra_daily)
    reference_truth = write_reference(out, scn, _monthly_cost(agg, book))

    spike_c = scn.customers[scn.spike_customer].customer_id
    per_day = pl.concat(daily).filter(pl.col("subject") == spike_c).sort("date")
    spike_n = per_day.filter(pl.col("date") == scn.spike_day)["len"].sum()
    other = per_day.filter(pl.col("date") != scn.spike_day)["len"]
    totals: dict[str, object] = {"events_generated": int(sum(counts))}
    for key in (
        "raw_rows",
        "quarantined_rows",
        "exact_duplicate_rows",
        "conflict_rows",
        "duplicate_rows",
        "duplicate_rows_same_file",
        "duplicate_rows_earlier_file",
        "loaded_rows",
        "failed_rows",
    ):
        totals[key] = int(sum(int(f[key]) for f in files.values()))  # type: ignore[call-overload]
    reasons_total: dict[str, int] = {}
    for f in files.values():
        for r, n in f["malformed_rows"].items():  # type: ignore[union-attr]
            reasons_total[r] = reasons_total.get(r, 0) + n
    totals["malformed_rows"] = dict(sorted(reasons_total.items()))
    truth = {
        "params": {
            "customers": customers,
            "events": events,
            "start": start.isoformat(),
            "days": days,
            "seed": seed,
            "usage_format": usage_format,
        },
        "usage_files": files,
        "totals": totals,
        "late_events": late_truth,
        "spike": {
            "customer_id": spike_c,
            "local_date": scn.spike_day.isoformat(),
            "timezone": scn.customers[scn.spike_customer].timezone,
            "factor": scn.spike_factor,
            "events_that_day": int(spike_n),
            "median_events_other_days": float(other.median() or 0),
        },
        "undermetered": {
            "provider": scn.undermetered_provider,
            "model": scn.undermetered_model,
            "utc_dates": [d.isoformat() for d in scn.undermetered_days],
            "factor": scn.undermetered_factor,
            "days": anthropic_truth["undermetered_billed"],
        },
        "price_override": provider_price_rows(scn)[1],
        "openai": openai_truth,
        "anthropic": {k: v for k, v in anthropic_truth.items() if k != "undermetered_billed"},
        "focus": focus_truth,
        "reference": reference_truth,
        "customers": [
            {
                "customer_id": c.customer_id,
                "timezone": c.timezone,
                "segment": c.segment,
                "start_date": c.start_date.isoformat(),
            }
            for c in scn.customers
        ],
    }
    (out / "generator_truth.json").write_text(
        json.dumps(truth, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )
    elapsed = time.perf_counter() - t0
    rate = sum(counts) / t_usage if t_usage else 0.0
    cpu_rate = sum(counts) / c_usage if c_usage else 0.0
    return (
        f"generated {sum(counts):,} events for {customers} customers, "
        f"{scn.start} .. {scn.last_day} into {out}\n"
        f"  usage files: {len(files)} ({totals['raw_rows']:,} raw rows: "
        f"{totals['quarantined_rows']:,} malformed, {totals['duplicate_rows']:,} duplicates, "
        f"{totals['failed_rows']:,} failed requests); late files: {len(late_truth)}\n"
        f"  usage written in {t_usage:.1f}s ({rate:,.0f} events/s), {c_usage:.1f}s CPU "
        f"({cpu_rate:,.0f} events per CPU-second); total {elapsed:.1f}s\n"
        f"  truth: {out / 'generator_truth.json'}"
    )
