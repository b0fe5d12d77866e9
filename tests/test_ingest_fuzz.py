"""Fuzz (Hypothesis, issue 18): random bytes, random valid-looking events with extreme values and
random truncations of a good CSV, written as usage files beside the tiny data directory's good
files, one warehouse for all examples. Every example's ingest must conserve each file
(raw = loaded + duplicates + quarantined, the tables agree); then one `meterline run` over all of
it must succeed, the good customers must bill exactly what a run without the fuzz files bills,
and a second run must change nothing.

Settings: ``METERLINE_FUZZ_EXAMPLES`` examples (default 30), derandomized (the same examples on
every machine, so CI cannot flake; raise the count and set ``METERLINE_FUZZ_RANDOM=1`` to explore),
no example database, no deadline. Fuzz events only name ``cus_fuzz`` (a real customer on Pro, so
accepted extremes are rated and built) or ``cus_ghost`` (unknown): the good customers' rows are
untouched by construction, so their invoices must be exactly the clean run's."""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestration.config import Settings
from orchestration.defs.quality.checks import CONSERVATION_SQL
from orchestration.ingest import FileLoad, ingest_reference, ingest_usage
from orchestration.ingest.usage import QUANTITY_CEILING
from orchestration.pipeline import run_pipeline
from tests.support.pipeline import make_data_dir, mart_checksums, query

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::Warning")]

EXAMPLES = int(os.environ.get("METERLINE_FUZZ_EXAMPLES", "30"))
RANDOM = os.environ.get("METERLINE_FUZZ_RANDOM") == "1"
C = QUANTITY_CEILING

QUANTITY_KEYS = (
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "output_tokens",
    "images",
    "requests",
    "audio_seconds",
    "characters",
    "gpu_seconds",
    "gb_stored",
)
HEADER = ["id", "source", "type", "subject", "time", "model", "input_tokens", "output_tokens"]

extreme_number = st.one_of(
    st.sampled_from([0, 1, C - 1, C, C + 1, 2**31, 2**53 + 1, 2**63 - 1, 2**64 - 1, 10**17]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=0, max_value=C),
)
extreme_value = st.one_of(
    extreme_number,
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False, allow_infinity=False, places=st.integers(0, 12)).map(str),
    st.sampled_from(["", "abc", "1e400", "-0", "0x10", "1,000", "١٢٣", "NaN", "null"]),
    st.none(),
)
times = st.sampled_from(
    [
        "2026-10-10T12:00:00Z",
        "2026-10-31t23:59:59.999999999z",
        "2026-10-15 08:00:00+02:00",
        "2026-10-15T08:00:00+25:00",
        "2026-10-15T08:00:00-23:59",
        "0001-01-01T00:00:00Z",
        "1970-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "2026-02-30T00:00:00Z",
        "yesterday",
        "",
    ]
)
event_types = st.sampled_from(["llm.completion", "image.generation", "embedding", "gpu.job"])
models = st.sampled_from(["gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5", "zz-unknown", ""])


@st.composite
def fuzz_event(draw: st.DrawFn, tag: str, i: int) -> dict[str, Any]:
    data: dict[str, Any] = {"model": draw(models), "provider": "openai"}
    for key in draw(st.lists(st.sampled_from(QUANTITY_KEYS), max_size=4, unique=True)):
        data[key] = draw(extreme_value)
    return {
        "specversion": "1.0",
        "id": f"{tag}-{draw(st.integers(0, 3))}-{i}",  # some repeats and conflicts
        "source": "fuzz",
        "type": draw(event_types),
        "subject": draw(st.sampled_from(["cus_fuzz", "cus_fuzz", "cus_ghost"])),
        "time": draw(times),
        "data": data,
    }


def _json_line(e: dict[str, Any]) -> str:
    # NaN/Infinity are written the way a careless exporter writes them (not valid JSON)
    return json.dumps(e, allow_nan=True)


def _csv_text(events: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADER)
    for e in events:
        d = e["data"]
        w.writerow(
            [e["id"], e["source"], e["type"], e["subject"], e["time"], d.get("model")]
            + ["" if d.get(k) is None else str(d.get(k)) for k in HEADER[6:]]
        )
    return buf.getvalue()


@st.composite
def fuzz_file(draw: st.DrawFn, tag: str) -> tuple[str, bytes]:
    """(file extension, bytes) of one fuzz file."""
    kind = draw(st.sampled_from(["bytes", "jsonl", "csv", "csv_cut", "jsonl_cut"]))
    if kind == "bytes":
        ext = draw(st.sampled_from(["jsonl", "csv", "parquet"]))
        return ext, draw(st.binary(max_size=600))
    events = [draw(fuzz_event(tag, i)) for i in range(draw(st.integers(0, 8)))]
    if kind in ("jsonl", "jsonl_cut"):
        body = ("\n".join(_json_line(e) for e in events) + "\n").encode()
        ext = "jsonl"
    else:
        body = _csv_text(events).encode()
        ext = "csv"
    if kind.endswith("_cut"):
        body = body[: draw(st.integers(0, len(body)))]
    if draw(st.booleans()) and body:  # sometimes a byte flipped to something not UTF-8
        at = draw(st.integers(0, len(body) - 1))
        body = body[:at] + bytes([draw(st.sampled_from([0x80, 0xFF, 0xC3, 0x00]))]) + body[at + 1 :]
    return ext, body


_counter = itertools.count()


def _add_fuzz_customer(data: Path) -> None:
    ref = data / "reference"
    with (ref / "customers.csv").open("a", encoding="utf-8") as fh:
        fh.write("cus_fuzz,Fuzz,USD,UTC,0,startup,,\n")
    with (ref / "subscriptions.csv").open("a", encoding="utf-8") as fh:
        fh.write("sub_fuzz,cus_fuzz,pro,2026-10-01,\n")


def _assert_conserved(s: Settings, loads: list[FileLoad]) -> None:
    for f in loads:
        assert f.raw_rows == f.loaded_rows + f.duplicate_rows + f.quarantined_rows, f
    assert query(s, CONSERVATION_SQL) == []


def test_fuzzed_usage_files_never_stop_the_warehouse(tmp_path: Path) -> None:
    clean, s = (
        Settings(data_dir=make_data_dir(tmp_path / n), warehouse=tmp_path / n / "warehouse.duckdb")
        for n in ("clean", "fuzz")
    )
    for x in (clean, s):
        _add_fuzz_customer(x.data_dir)
    ingest_reference(s)
    usage = s.data_dir / "raw" / "usage"
    stats = {"examples": 0, "files": 0, "rejected": 0, "quarantined": 0, "loaded": 0}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=not RANDOM,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.data())
    def one_example(data: st.DataObject) -> None:
        n = next(_counter)
        tag = f"f{n:03d}"
        files = data.draw(st.lists(fuzz_file(tag), min_size=1, max_size=3))
        names = []
        for j, (ext, body) in enumerate(files):
            name = f"fuzz_{n:03d}_{j}_2026-11-01.{ext}"
            (usage / name).write_bytes(body)
            names.append(f"raw/usage/{name}")
        loads = [f for f in ingest_usage(s) if not f.skipped]
        assert sorted(f.file_path for f in loads) == sorted(names)
        _assert_conserved(s, loads)
        stats["examples"] += 1
        stats["files"] += len(loads)
        stats["rejected"] += sum(1 for f in loads if f.rejected_reason)
        stats["quarantined"] += sum(f.quarantined_rows for f in loads)
        stats["loaded"] += sum(f.loaded_rows for f in loads)

    one_example()
    print(f"fuzz: {stats}")  # noqa: T201 (shown with -s: the number of examples run)
    assert stats["examples"] == EXAMPLES

    assert run_pipeline(clean, progress=False)
    assert run_pipeline(s, progress=False)
    good = "customer_id in ('cus_acme', 'cus_globex', 'cus_northwind')"
    lines_sql = (
        "select customer_id, period, line_no, line_type, meter_code, dimensions, quantity, "
        f"unit_price, amount from marts.fct_invoice_lines where {good} order by all"
    )
    invoices_sql = f"select * from marts.fct_invoices where {good} order by all"
    assert query(s, lines_sql) == query(clean, lines_sql)
    assert query(s, invoices_sql) == query(clean, invoices_sql)
    assert query(s, CONSERVATION_SQL) == []

    before = {sch: mart_checksums(s, sch) for sch in ("marts", "intermediate", "raw")}
    assert run_pipeline(s, progress=False)
    assert {sch: mart_checksums(s, sch) for sch in ("marts", "intermediate", "raw")} == before
