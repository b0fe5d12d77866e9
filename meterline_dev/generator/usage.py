"""Usage events: vectorised generation per UTC day (NumPy), fault planting and file writing
(Polars). No per-event Python loop: one day is a handful of array operations."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pyarrow as pa

from meterline_dev.generator.scenario import Scenario

EVENT_TYPES: tuple[str, ...] = (
    "llm.completion",
    "embedding",
    "image.generation",
    "audio.transcription",
    "gpu.job",
    "agent.task",
    "storage.snapshot",
)
_TYPE_P = np.array([0.80, 0.07, 0.02, 0.03, 0.02, 0.04, 0.02])
_ENDPOINTS = (
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/images/generations",
    "/v1/audio/transcriptions",
    "/v1/gpu/jobs",
    "/v1/agents/tasks",
    "/v1/storage/snapshots",
)

# provider, model, share of llm.completion, median input, median output, cached share, write share
LLM_MODELS: tuple[tuple[str, str, float, int, int, float, float], ...] = (
    ("openai", "gpt-4o-mini-2024-07-18", 0.25, 2_000, 400, 0.30, 0.0),
    ("openai", "gpt-4o-2024-08-06", 0.15, 3_000, 600, 0.25, 0.0),
    ("openai", "gpt-5-mini", 0.12, 4_000, 1_500, 0.20, 0.0),
    ("anthropic", "claude-sonnet-4-5-20250929", 0.15, 8_000, 1_200, 0.30, 0.04),
    ("anthropic", "claude-haiku-4-5-20251001", 0.33, 80_000, 12_000, 0.40, 0.05),
)
EMBEDDING_MODEL = "text-embedding-3-small"
AUDIO_MODEL = "whisper-1"
IMAGE_MODEL = "dall-e-3"
GPU_TYPES = ("h100", "a100")
OUTCOMES = ("resolved", "escalated", "abandoned")
FEATURES = ("support-bot", "search", "summarize", "code-assist", "agent")

REASONS: tuple[str, ...] = (
    "unparseable",
    "missing_id",
    "missing_subject",
    "missing_time",
    "invalid_time",
    "invalid_quantity",
    "negative_quantity",
    "future_time",
    "unknown_customer",
    "unknown_event_type",
)
# Parquet columns are typed: a cut line or a quantity that is not a number cannot be written.
JSONL_ONLY_REASONS: frozenset[str] = frozenset({"unparseable", "invalid_quantity"})
PARQUET_REASONS: tuple[str, ...] = tuple(r for r in REASONS if r not in JSONL_ONLY_REASONS)
MALFORMED_RATE = 0.001
# a file with fewer rows than this still gets one malformed row of every reason
SMALL_FILE_ROWS = 2_000
DUPLICATE_RATE = 0.004  # exact repeats inside a file
REDELIVERY_RATE = 0.001  # exact repeats of a file's rows at the start of the next day's file
CONFLICT_RATE = 0.0005
FAILED_RATE = 0.01
LATE_SHARE = 0.03

# Local-hour rhythm (peak mid-afternoon), weekday factor for Mon..Sun.
_HOURS = np.array(
    [2, 1, 1, 1, 1, 2, 4, 7, 10, 12, 13, 14, 13, 14, 15, 15, 14, 12, 9, 7, 5, 4, 3, 2], dtype=float
)
_HOURS /= _HOURS.sum()
_WEEKDAY = np.array([1.0, 1.05, 1.05, 1.0, 0.95, 0.6, 0.55])

DATA_COLUMNS: tuple[tuple[str, bool], ...] = (  # (key, is_string) in JSON order
    ("provider", True),
    ("model", True),
    ("input_tokens", False),
    ("cached_input_tokens", False),
    ("cache_write_tokens", False),
    ("output_tokens", False),
    ("images", False),
    ("audio_seconds", False),
    ("gpu_seconds", False),
    ("gpu_type", True),
    ("outcome", True),
    ("gb_stored", False),
    ("status", True),
    ("latency_ms", False),
    ("endpoint", True),
    ("feature", True),
    ("workspace_id", True),
    ("service_tier", True),
)


UNKNOWN_TYPE = "llm.finetune"  # the planted unknown event type
UNKNOWN_CUSTOMER = "cus_unknown"  # the planted unknown customer


def _codes(values: list[str], table: list[str]) -> np.ndarray:
    return np.array([table.index(v) for v in values], dtype=np.int64)


@functools.cache
def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Text lookup tables: 4-digit groups, ``HH:MM:SS`` per second of day, ``.mmmZ``."""
    d4 = np.array([f"{i:04d}".encode() for i in range(10_000)], dtype="S4")
    hms = np.array(
        [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}".encode() for s in range(86_400)],
        dtype="S8",
    )
    milli = np.array([f".{i:03d}Z".encode() for i in range(1000)], dtype="S5")
    return d4, hms, milli


def _as_strings(buf: np.ndarray) -> pl.Series:
    """An (n, width) uint8 matrix of ASCII as a String series (one buffer, no per-row work)."""
    n, row = buf.shape
    offsets = np.arange(0, (n + 1) * row, row, dtype=np.int64)
    data = np.ascontiguousarray(buf).ravel()
    arr = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))
    # through a table: ``pl.from_arrow`` / ``pl.Series(<arrow>)`` import pandas (~1 s, once)
    return pl.DataFrame(pa.table({"s": arr}))["s"].cast(pl.String)


def _records_as_strings(rec: np.ndarray) -> pl.Series:
    """A packed structured array of byte-string fields, each record one fixed-width string."""
    return _as_strings(rec.view(np.uint8).reshape(len(rec), rec.dtype.itemsize))


def _fixed_width_ids(prefix: str, numbers: np.ndarray, width: int) -> pl.Series:
    """``prefix`` + zero-padded ``numbers`` (``width`` a multiple of 4) as strings."""
    if width % 4:
        raise ValueError("width must be a multiple of 4")
    d4 = _tables()[0]
    groups = width // 4
    head = prefix.encode()
    rec = np.empty(
        len(numbers), dtype=[("p", f"S{len(head)}"), *((f"g{k}", "S4") for k in range(groups))]
    )
    rec["p"] = head
    x = numbers.astype(np.int64)
    for k in reversed(range(groups)):
        rec[f"g{k}"] = d4[x % 10_000]
        x = x // 10_000
    return _records_as_strings(rec)


def iso_times(ts_ms: np.ndarray) -> pl.Series:
    """Epoch milliseconds as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (UTC)."""
    _, hms, milli = _tables()
    days, ms = np.divmod(ts_ms.astype(np.int64), 86_400_000)
    uniq, inv = np.unique(days, return_inverse=True)
    dates = np.array(
        [f"{dt.date(1970, 1, 1) + dt.timedelta(days=int(d))}T".encode() for d in uniq],
        dtype="S11",
    )
    rec = np.empty(len(ts_ms), dtype=[("d", "S11"), ("t", "S8"), ("m", "S5")])
    rec["d"] = dates[inv]
    rec["t"] = hms[ms // 1000]
    rec["m"] = milli[ms % 1000]
    return _records_as_strings(rec)


def _pick(rng: np.random.Generator, p: np.ndarray, n: int) -> np.ndarray:
    """``n`` draws of indices with probabilities ``p`` (inverse CDF; faster than choice)."""
    cdf = np.cumsum(p)
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(p) - 1)


def day_counts(scn: Scenario, events: int) -> list[int]:
    """Events per usage day: weekday rhythm, exact total (largest remainder)."""
    w = np.array([_WEEKDAY[d.weekday()] for d in scn.usage_days()])
    exact = events * w / w.sum()
    base = np.floor(exact).astype(np.int64)
    rest = events - int(base.sum())
    order = np.argsort(-(exact - base), kind="stable")
    base[order[:rest]] += 1
    return [int(x) for x in base]


def _with_nulls(values: pl.Series, nulls: np.ndarray) -> pl.Series:
    """``values`` with NULL where ``nulls`` (Polars only: no pandas import on the way)."""
    return pl.select(pl.when(~pl.lit(pl.Series(nulls))).then(pl.lit(values))).to_series()


def _at(n: int, rows: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Lookup codes: ``codes`` at ``rows``, -1 (NULL) elsewhere."""
    full = np.full(n, -1, dtype=np.int64)
    full[rows] = codes
    return full


def _real_offsets(scn: Scenario, day: dt.date) -> np.ndarray:
    """Each customer's actual UTC offset in hours at noon UTC of ``day`` (DST included)."""
    noon = dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC)
    out = []
    for c in scn.customers:
        delta = noon.astimezone(ZoneInfo(c.timezone)).utcoffset() or dt.timedelta(0)
        out.append(int(delta.total_seconds() // 3600))
    return np.array(out, dtype=np.int64)


def _keep_in_local_window(
    scn: Scenario, day_index: int, rng: np.random.Generator, ci: np.ndarray, local_hour: np.ndarray
) -> None:
    """Usage stays inside each customer's own billing window, in its local time: from local
    00:00 of its start day to local 23:59:59 of the last usage day. An event's UTC hour comes
    from its rhythm hour and the customer's nominal offset; its local date from the real offset
    (DST) of that day. On the UTC days at the edges, an event whose local date falls outside is
    redrawn (in place) among the hours of that UTC day that are inside (same hourly rhythm).
    Middle days draw nothing extra."""
    day = scn.start + dt.timedelta(days=day_index)
    nominal = np.array([c.utc_offset for c in scn.customers], dtype=np.int64)
    real = _real_offsets(scn, day)
    first = np.array([(c.start_date - scn.start).days for c in scn.customers])

    def local_day(hours: np.ndarray, k: np.ndarray) -> np.ndarray:
        utc_hour = (hours - nominal[k]) % 24
        return day_index + (utc_hour + real[k]) // 24

    ld = local_day(local_hour, ci)
    bad = (ld < first[ci]) | (ld > scn.days - 1)
    if not bad.any():
        return
    hours = np.arange(24)
    for k in np.unique(ci[bad]):  # customers at an edge this day: a few, not events
        rows = np.flatnonzero(bad & (ci == k))
        inside = local_day(hours, np.full(24, k))
        ok = (inside >= first[k]) & (inside <= scn.days - 1)
        local_hour[rows] = _pick(rng, np.where(ok, _HOURS, 0.0), len(rows))


def generate_day(scn: Scenario, day_index: int, n: int) -> pl.DataFrame:
    """``n`` clean events of usage day ``day_index``, sorted by time (columns: see below)."""
    day = scn.start + dt.timedelta(days=day_index)
    rng = np.random.default_rng([scn.seed, 1, day_index])
    cust = scn.customers
    p = np.array([c.weight if c.start_date <= day else 0.0 for c in cust])
    p /= p.sum()
    if day == scn.spike_day:  # the spike customer gets factor x its share; the rest shrink
        k = scn.spike_customer
        share = min(0.9, p[k] * scn.spike_factor)
        p *= (1.0 - share) / (1.0 - p[k])
        p[k] = share
    counts = rng.multinomial(n, p)
    ci = np.repeat(np.arange(len(cust)), counts)
    offsets = np.array([c.utc_offset for c in cust])[ci]
    local_hour = _pick(rng, _HOURS, n)
    _keep_in_local_window(scn, day_index, rng, ci, local_hour)
    hour = (local_hour - offsets) % 24
    day_ms = int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000)
    ms_of_day = hour * 3_600_000 + rng.integers(0, 3_600_000, n)
    # by time, ties by draw order: one sort of unique keys (time << 32 | draw index)
    keys = np.sort((ms_of_day.astype(np.int64) << 32) | np.arange(n, dtype=np.int64))
    ts = day_ms + (keys >> 32)
    ci = ci[keys & 0xFFFF_FFFF]
    # every other field is drawn i.i.d., directly in time order (no reordering); a field that
    # only one event type has is drawn only for the rows of that type
    tcode = _pick(rng, _TYPE_P, n)
    rows_of = [np.flatnonzero(tcode == t) for t in range(len(EVENT_TYPES))]
    llm = rows_of[0]
    n_llm = len(LLM_MODELS)
    mcode = _pick(rng, np.array([m[2] for m in LLM_MODELS]), len(llm))
    med_in = np.array([m[3] for m in LLM_MODELS], dtype=np.float64)[mcode]
    med_out = np.array([m[4] for m in LLM_MODELS], dtype=np.float64)[mcode]
    cshare = np.array([m[5] for m in LLM_MODELS])[mcode]
    wshare = np.array([m[6] for m in LLM_MODELS])[mcode]
    k = len(llm)
    inp = np.clip(np.rint(med_in * rng.lognormal(0.0, 0.55, k)), 20, 190_000).astype(np.int64)
    out = np.clip(np.rint(med_out * rng.lognormal(0.0, 0.5, k)), 1, 60_000).astype(np.int64)
    cached = (inp * (rng.random(k) * 2.0 * cshare)).astype(np.int64)
    cwrite = (inp * (rng.random(k) * 2.0 * wshare)).astype(np.int64)
    anth_model = np.array([m[0] == "anthropic" for m in LLM_MODELS])
    cwrite[~anth_model[mcode]] = 0
    n_of = [len(r) for r in rows_of]
    emb_in = np.clip(np.rint(600 * rng.lognormal(0.0, 0.7, n_of[1])), 1, 8000).astype(np.int64)
    images = rng.integers(1, 5, n_of[2])
    audio_tenths = rng.integers(50, 6000, n_of[3])
    gpu_millis = rng.integers(5_000, 1_800_000, n_of[4])
    gpu_t = rng.integers(0, len(GPU_TYPES), n_of[4])
    outcome = _pick(rng, np.array([0.7, 0.2, 0.1]), n_of[5])
    gb_milli = rng.integers(1_000, 500_000, n_of[6])
    failed = rng.random(n) < FAILED_RATE
    out_all = np.zeros(n, dtype=np.int64)
    out_all[llm] = out
    latency = 200 + out_all // 50 + rng.integers(20, 900, n)
    feature = rng.integers(0, len(FEATURES), n)
    ws = rng.integers(1, 4, n)

    # product code: the LLM models first, then one per other event type; every dimension is a
    # lookup by product code into a small table whose last entry (index -1) means NULL
    pcode = (tcode + (n_llm - 1)).astype(np.int64)
    pcode[llm] = mcode
    is_anth_p = np.array([m[0] == "anthropic" for m in LLM_MODELS] + [False] * 6)
    type_p = np.array([0] * n_llm + [1, 2, 3, 4, 5, 6])
    model_tab = [m[1] for m in LLM_MODELS] + [EMBEDDING_MODEL, IMAGE_MODEL, AUDIO_MODEL, None]
    model_p = np.array([*range(n_llm), n_llm, n_llm + 1, n_llm + 2, -1, -1, -1])
    prov_p = np.where(is_anth_p, 1, np.where(type_p <= 3, 0, -1))
    ep_p = np.where(is_anth_p, len(_ENDPOINTS), type_p)
    tier_p = np.where(is_anth_p, 1, np.where(type_p <= 3, 0, -1))

    def look(table: list[str | None], codes: np.ndarray) -> pl.Series:
        """Gather from a small table as an Enum (no per-row strings); code -1 -> NULL."""
        values = [v for v in table if v is not None]
        tab = pl.Series(values, dtype=pl.Enum(values))
        idx = codes.astype(np.uint32)
        nulls = codes < 0
        if not nulls.any():
            return tab.gather(idx)
        return tab.gather(_with_nulls(pl.Series(np.where(nulls, 0, idx)), nulls))

    def only(rows: np.ndarray, values: np.ndarray) -> pl.Series:
        """``values`` at ``rows``, NULL elsewhere."""
        full = np.zeros(n, dtype=np.int64)
        full[rows] = values
        valid = np.zeros(n, dtype=bool)
        valid[rows] = True
        return _with_nulls(pl.Series(full), ~valid)

    seq = np.arange(n, dtype=np.int64)
    ids = _fixed_width_ids("evt_", seq + day_index * 100_000_000, 12)
    df = pl.DataFrame(
        {
            "_seq": seq,
            "_ts": ts.astype(np.int64),
            "_ci": ci.astype(np.int32),
            "_t": tcode.astype(np.int8),
            "_day": np.full(n, day_index, dtype=np.int32),
            "id": ids,
            "source": look(
                sorted({c.gateway for c in cust}),
                _codes([c.gateway for c in cust], sorted({c.gateway for c in cust}))[ci],
            ),
            "type": look([*EVENT_TYPES, UNKNOWN_TYPE], tcode),
            "subject": look([*(c.customer_id for c in cust), UNKNOWN_CUSTOMER], ci),
            "provider": look(["openai", "anthropic", None], prov_p[pcode]),
            "model": look(model_tab, model_p[pcode]),
            "input_tokens": only(np.concatenate([llm, rows_of[1]]), np.concatenate([inp, emb_in])),
            "cached_input_tokens": only(llm, cached),
            "cache_write_tokens": only(llm, cwrite),
            "output_tokens": only(llm, out),
            "images": only(rows_of[2], images),
            "_audio_tenths": only(rows_of[3], audio_tenths),
            "_gpu_millis": only(rows_of[4], gpu_millis),
            "gpu_type": look([*GPU_TYPES, None], _at(n, rows_of[4], gpu_t)),
            "outcome": look([*OUTCOMES, None], _at(n, rows_of[5], outcome)),
            "_gb_milli": only(rows_of[6], gb_milli),
            "status": look(["success", "error"], failed.astype(np.int64)),
            "latency_ms": latency,
            "endpoint": look([*_ENDPOINTS, "/v1/messages"], ep_p[pcode]),
            "feature": look(list(FEATURES), feature),
            "workspace_id": look(["ws_0", "ws_1", "ws_2", "ws_3"], ws),
            "service_tier": look(["default", "standard", None], tier_p[pcode]),
        }
    )
    return df


def _scaled_decimal(col: str, scale: int) -> pl.Expr:
    """An integer count of 10^-scale units as an exact DECIMAL(18, scale) (no float, no text)."""
    unit = pl.lit(Decimal(1).scaleb(-scale), dtype=pl.Decimal(18, scale))
    return (pl.col(col).cast(pl.Decimal(18, 0)) * unit).cast(pl.Decimal(18, scale))


def _dec_text(col: str, scale: int) -> pl.Expr:
    unit = 10**scale
    c = pl.col(col)
    return pl.concat_str(
        pl.when(c < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        (c.abs() // unit).cast(pl.String),
        pl.lit("."),
        (c.abs() % unit).cast(pl.String).str.zfill(scale),
    )


@dataclass
class PlantedFile:
    """The faults planted in one usage file (ground truth for tests).

    Duplicates follow the ingester's rule (a row is a duplicate when its (source, id) was loaded
    before: by an earlier file in path order, or by an earlier row of the same file)."""

    raw_rows: int = 0
    malformed: dict[str, int] = field(default_factory=dict)
    same_file_exact: int = 0  # exact repeats of an earlier row of the same file
    earlier_file_exact: int = 0  # exact redeliveries of a row of the previous day's file
    conflict_rows: int = 0  # same (source, id) as an earlier row of the file, other payload

    def as_dict(self) -> dict[str, object]:
        quarantined = sum(self.malformed.values())
        exact = self.same_file_exact + self.earlier_file_exact
        dups = exact + self.conflict_rows
        return {
            "raw_rows": self.raw_rows,
            "malformed_rows": dict(sorted(self.malformed.items())),
            "quarantined_rows": quarantined,
            "exact_duplicate_rows": exact,
            "conflict_rows": self.conflict_rows,
            "duplicate_rows": dups,
            "duplicate_rows_same_file": self.same_file_exact + self.conflict_rows,
            "duplicate_rows_earlier_file": self.earlier_file_exact,
            "loaded_rows": self.raw_rows - quarantined - dups,
        }


_NOT_WRITTEN = frozenset({"_seq", "_ts", "_ci", "_day"})  # internal columns no writer needs


@dataclass(frozen=True)
class Planted:
    rows: pl.DataFrame  # the rows to write, in file order (writers' columns only)
    clean: pl.LazyFrame  # clean first deliveries of this file's own events (they count)
    tally: PlantedFile
    redeliver: pl.DataFrame  # rows to repeat at the start of the next day's file


def malformed_count(n: int, n_reasons: int) -> int:
    """Malformed rows for a file of ``n`` events: ~MALFORMED_RATE, one of each reason when small."""
    if n < SMALL_FILE_ROWS:
        return n_reasons
    return max(1, round(n * MALFORMED_RATE))


def plant_faults(
    df: pl.DataFrame,
    rng: np.random.Generator,
    file_day: dt.date,
    reasons: tuple[str, ...],
    *,
    reason_offset: int = 0,
    redelivered: pl.DataFrame | None = None,
) -> Planted:
    """Mark malformed rows (one reason each), add exact duplicates and conflicts.

    ``df`` is sorted by time. Malformed rows are chosen among llm.completion events (their
    corruption is visible in any field); duplicates among the clean rows, conflicts among clean
    llm rows. Reasons are dealt in rotation starting at ``reason_offset`` (so that over many
    files every reason gets its share). ``redelivered`` rows (from the previous day's file) are
    written first, unchanged, and this file's repeats last; a sample of this file's clean rows is
    returned for the next file."""
    n = df.height
    is_llm = df["_t"].to_numpy() == 0
    llm_idx = np.flatnonzero(is_llm)
    k_mal = min(len(llm_idx) // 2, malformed_count(n, len(reasons)))
    mal_idx = np.sort(rng.choice(llm_idx, size=k_mal, replace=False))
    reason_codes = (reason_offset + np.arange(k_mal)) % len(reasons)
    rng.shuffle(reason_codes)
    ok = np.ones(n, dtype=bool)
    ok[mal_idx] = False
    ok_idx = np.flatnonzero(ok)
    k_dup = min(len(ok_idx) // 4, max(1, round(n * DUPLICATE_RATE)))
    dup_idx = np.sort(rng.choice(ok_idx, size=k_dup, replace=False))
    free = ok & is_llm
    free[dup_idx] = False
    ok_llm = np.flatnonzero(free)
    k_conf = min(len(ok_llm) // 4, max(1, round(n * CONFLICT_RATE)))
    conf_idx = np.sort(rng.choice(ok_llm, size=k_conf, replace=False))
    k_next = min(len(ok_idx) // 4, max(1, round(n * REDELIVERY_RATE)))
    next_idx = np.sort(rng.choice(ok_idx, size=k_next, replace=False))

    time_fmt = "%Y-%m-%dT%H:%M:%S%.3fZ"
    base = df.with_columns(time=iso_times(df["_ts"].to_numpy()), _reason=pl.lit(-1, pl.Int8))
    clean = base.lazy().filter(pl.lit(pl.Series(ok)))
    dups = base[dup_idx]
    confs = base[conf_idx].with_columns(
        output_tokens=pl.col("output_tokens") + 7,
        latency_ms=pl.col("latency_ms") + 1,
    )
    # the malformed rows: a small frame, corrupted field by field (``invalid_quantity`` and
    # ``unparseable`` are written by the JSONL writer from ``_reason``)
    code = {r: i for i, r in enumerate(reasons)}
    rc = pl.col("_reason")
    file_ms = int(
        dt.datetime(file_day.year, file_day.month, file_day.day, tzinfo=dt.UTC).timestamp() * 1000
    )
    future_ms = pl.lit(file_ms + 5 * 86_400_000) + (pl.col("_ts") % 86_400_000)
    bad = base[mal_idx].with_columns(_reason=pl.Series(reason_codes.astype(np.int8)))
    bad = bad.with_columns(
        id=pl.when(rc == code.get("missing_id", -9)).then(None).otherwise(pl.col("id")),
        subject=pl.when(rc == code.get("missing_subject", -9))
        .then(None)
        .when(rc == code.get("unknown_customer", -9))
        .then(pl.lit(UNKNOWN_CUSTOMER))
        .otherwise(pl.col("subject").cast(pl.String))
        .cast(base.schema["subject"]),
        type=pl.when(rc == code.get("unknown_event_type", -9))
        .then(pl.lit(UNKNOWN_TYPE))
        .otherwise(pl.col("type").cast(pl.String))
        .cast(base.schema["type"]),
        time=pl.when(rc == code.get("missing_time", -9))
        .then(None)
        .when(rc == code.get("invalid_time", -9))
        .then(pl.concat_str(pl.col("time").str.slice(0, 10), pl.lit("T27:61:00.000Z")))
        .when(rc == code.get("future_time", -9))
        .then(future_ms.cast(pl.Datetime("ms")).dt.strftime(time_fmt))
        .otherwise(pl.col("time")),
        output_tokens=pl.when(rc == code.get("negative_quantity", -9))
        .then(-pl.col("output_tokens") - 1)
        .otherwise(pl.col("output_tokens")),
    )
    # file order: redeliveries first, then the day's events with each bad row in its place
    # (scattered into the few corrupted columns, no full copy), then the exact repeats and
    # conflicts of this file (a retry burst at the end: every original comes earlier)
    k_re = 0 if redelivered is None else redelivered.height
    written = [c for c in base.columns if c not in _NOT_WRITTEN]
    fixed = {}
    for c in ("id", "subject", "type", "time", "output_tokens", "_reason"):
        col = base[c].clone()
        col.scatter(mal_idx, bad[c])
        fixed[c] = col
    frames = [base.with_columns(**fixed), dups, confs]
    if redelivered is not None:
        frames.insert(0, redelivered)
    rows = pl.concat([f.select(written) for f in frames])
    counts = np.bincount(reason_codes, minlength=len(reasons))
    tally = PlantedFile(
        raw_rows=rows.height,
        malformed={r: int(c) for r, c in zip(reasons, counts, strict=True) if c},
        same_file_exact=k_dup,
        earlier_file_exact=k_re,
        conflict_rows=k_conf,
    )
    return Planted(rows=rows, clean=clean, tally=tally, redeliver=base[next_idx])


# ---- JSONL --------------------------------------------------------------------------------------

_SCALED: dict[str, tuple[str, int]] = {  # JSON key -> (integer column, decimal places)
    "audio_seconds": ("_audio_tenths", 1),
    "gpu_seconds": ("_gpu_millis", 3),
    "gb_stored": ("_gb_milli", 3),
}
_ENVELOPE: tuple[str, ...] = ("id", "source", "type", "subject", "time")


def _value(key: str) -> pl.Expr:
    if key in _SCALED:
        return _dec_text(*_SCALED[key])
    return pl.col(key).cast(pl.String)


def _merge_literals(pieces: list[str | pl.Expr]) -> list[pl.Expr]:
    out: list[pl.Expr] = []
    text = ""
    for p in pieces:
        if isinstance(p, str):
            text += p
            continue
        if text:
            out.append(pl.lit(text))
            text = ""
        out.append(p)
    if text:
        out.append(pl.lit(text))
    return out


def _flat_line(part: pl.DataFrame) -> pl.Expr | None:
    """One flat concatenation for rows that share a null pattern (None if they don't)."""
    pieces: list[str | pl.Expr] = ['{"specversion":"1.0"']
    for key in _ENVELOPE:
        if part[key].null_count():
            return None
        pieces += [f',"{key}":"', pl.col(key).cast(pl.String), '"']
    pieces.append(',"data":{')
    sep = ""
    for key, is_string in DATA_COLUMNS:
        col = _SCALED[key][0] if key in _SCALED else key
        nulls = part[col].null_count()
        if nulls == part.height:
            continue
        if nulls:
            return None
        quote = '"' if is_string else ""
        pieces += [f'{sep}"{key}":{quote}', _value(key), quote]
        sep = ","
    pieces.append("}}\n")
    return pl.concat_str(_merge_literals(pieces))


def _generic_line() -> pl.Expr:
    """Any row (absent keys for NULLs) and the planted JSONL-only faults; slower, for few rows."""

    def seg(key: str, expr: pl.Expr, is_string: bool) -> pl.Expr:
        text = expr.cast(pl.String)
        val = pl.concat_str(pl.lit('"'), text, pl.lit('"')) if is_string else text
        return pl.concat_str(pl.lit(f',"{key}":'), val)

    bad_number = REASONS.index("invalid_quantity")
    out_text = (
        pl.when(pl.col("_reason") == bad_number)
        .then(pl.concat_str(pl.lit('"'), pl.col("output_tokens").cast(pl.String), pl.lit('x"')))
        .otherwise(pl.col("output_tokens").cast(pl.String))
    )
    values = {k: _value(k) for k, _ in DATA_COLUMNS} | {"output_tokens": out_text}
    data_segs = [seg(k, values[k], s) for k, s in DATA_COLUMNS]
    data = pl.concat_str(data_segs, ignore_nulls=True).str.slice(1)
    line = pl.concat_str(
        [
            pl.lit('{"specversion":"1.0"'),
            *(seg(k, pl.col(k), True) for k in _ENVELOPE),
            pl.concat_str(pl.lit(',"data":{'), data, pl.lit("}}")),
        ],
        ignore_nulls=True,
    )
    cut = pl.col("_reason") == REASONS.index("unparseable")
    line = pl.when(cut).then(line.str.slice(0, line.str.len_chars() // 2)).otherwise(line)
    return pl.concat_str(line, pl.lit("\n"))


def _json_lines(rows: pl.DataFrame) -> pl.Series:
    """One CloudEvents JSON text per row, each ending in a newline, in row order.

    Rows are built per event type with one flat concatenation (within a type the same keys are
    present); malformed rows (``_reason`` set, codes of ``REASONS``) take the generic path."""
    rows = rows.with_row_index("_row")
    is_bad = pl.col("_reason") >= 0
    parts = [rows.filter(is_bad).select("_row", _generic_line().alias("line"))]
    for _, part in sorted(rows.filter(~is_bad).partition_by("_t", as_dict=True).items()):
        expr = _flat_line(part)
        parts.append(part.select("_row", (_generic_line() if expr is None else expr).alias("line")))
    return pl.concat(parts).sort("_row")["line"]


def write_jsonl(rows: pl.DataFrame, path: Path) -> None:
    """Write the lines' bytes straight from the Arrow buffer (no Python string per line)."""
    arr = _json_lines(rows).rechunk().to_arrow()
    if arr.type != pa.large_string():
        arr = arr.cast(pa.large_string())
    _, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)
    begin, end = int(offsets[arr.offset]), int(offsets[arr.offset + len(arr)])
    with path.open("wb") as fh:
        if end > begin:
            fh.write(memoryview(data_buf)[begin:end])  # type: ignore[arg-type]


def write_parquet(rows: pl.DataFrame, path: Path) -> None:
    flat = rows.select(
        pl.lit("1.0").alias("specversion"),
        "id",
        "source",
        "type",
        "subject",
        "time",
        "provider",
        "model",
        "input_tokens",
        "cached_input_tokens",
        "cache_write_tokens",
        "output_tokens",
        "images",
        _scaled_decimal("_audio_tenths", 1).alias("audio_seconds"),
        _scaled_decimal("_gpu_millis", 3).alias("gpu_seconds"),
        "gpu_type",
        "outcome",
        _scaled_decimal("_gb_milli", 3).alias("gb_stored"),
        "status",
        "latency_ms",
        "endpoint",
        "feature",
        "workspace_id",
        "service_tier",
    )
    flat.write_parquet(
        path, compression="zstd", compression_level=1, statistics=False, row_group_size=1_000_000
    )


def aggregate_clean(clean: pl.LazyFrame) -> pl.DataFrame:
    """Billable (successful, clean, first delivery) usage per UTC date x customer x model."""
    return (
        clean.filter(pl.col("status") == "success", pl.col("provider").is_not_null())
        .with_columns(date=pl.col("_ts").cast(pl.Datetime("ms")).dt.date())
        .group_by("date", "subject", "provider", "model", "type")
        .agg(
            requests=pl.len(),
            input_tokens=pl.col("input_tokens").sum(),
            cached_input_tokens=pl.col("cached_input_tokens").sum(),
            cache_write_tokens=pl.col("cache_write_tokens").sum(),
            output_tokens=pl.col("output_tokens").sum(),
            images=pl.col("images").sum(),
            audio_tenths=pl.col("_audio_tenths").sum(),
        )
        .with_columns(pl.col("subject", "provider", "model", "type").cast(pl.String))
        .collect()
    )


def aggregate_infra(clean: pl.LazyFrame) -> pl.DataFrame:
    """What the shared infrastructure carried, per UTC date x customer (clean, first delivery,
    failed requests included: a failed job still held its GPU): GPU milliseconds per GPU type
    and the peak of stored data (GB x 1000)."""
    return (
        clean.filter(pl.col("type").cast(pl.String).is_in(["gpu.job", "storage.snapshot"]))
        .with_columns(date=pl.col("_ts").cast(pl.Datetime("ms")).dt.date())
        .group_by("date", "subject")
        .agg(
            h100_millis=pl.col("_gpu_millis").filter(pl.col("gpu_type") == "h100").sum(),
            a100_millis=pl.col("_gpu_millis").filter(pl.col("gpu_type") == "a100").sum(),
            gb_milli=pl.col("_gb_milli").max(),
        )
        .with_columns(pl.col("subject").cast(pl.String))
        .collect()
    )
