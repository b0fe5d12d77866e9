"""Issue 18 end to end, on the tiny data directory (tests/support/pipeline.py) plus two customers
on Pro: cus_ceiling and cus_fuzz. A module fixture builds it once without bad input (`clean`).

- Poison: bad usage files and poison values beside the good files. The run succeeds (rejected
  files are a warning, not a block), the good customers' invoice lines equal the clean run's,
  events AT the quantity ceiling bill (amounts computed by hand below) and build, and a second
  run changes nothing.
- Fuzz (Hypothesis): random bytes, random valid-looking events with extreme values and random
  truncations of JSONL/CSV files (some with a byte made invalid UTF-8), written beside the good
  files in one warehouse. Each example's ingest must conserve every file (raw = loaded +
  duplicates + quarantined, the tables agree); then one `meterline run` over all of it must
  succeed, the good customers must bill exactly what the clean run bills, and a second run must
  change nothing. Settings: ``METERLINE_FUZZ_EXAMPLES`` examples (default 30), derandomized (the
  same examples on every machine, so CI cannot flake; set ``METERLINE_FUZZ_RANDOM=1`` to
  explore), no example database, no deadline. Fuzz events only name ``cus_fuzz`` or
  ``cus_ghost`` (unknown): the good customers' rows are untouched by construction.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from orchestration.config import Settings
from orchestration.defs.quality.checks import CONSERVATION_SQL
from orchestration.ingest import FileLoad, ingest_reference, ingest_usage
from orchestration.ingest.usage import QUANTITY_CEILING
from orchestration.pipeline import run_pipeline
from orchestration.run_log import read_run_log
from tests.support.pipeline import event, make_data_dir, mart_checksums, query

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::Warning")]

C = QUANTITY_CEILING  # 10,000,000,000
LLM = "llm.completion"
OCT = "2026-10-10T12:00:00Z"


def settings(data: Path) -> Settings:
    return Settings(data_dir=data, warehouse=data / "warehouse.duckdb")


def add_customers(data: Path) -> None:
    """cus_ceiling (events at the ceiling) and cus_fuzz (the fuzz events): UTC, tax 0, Pro
    (tests/support/pipeline.py PRO_V1_YML) from October."""
    ref = data / "reference"
    with (ref / "customers.csv").open("a", encoding="utf-8") as fh:
        fh.write("cus_ceiling,Ceiling,USD,UTC,0,startup,,\n")
        fh.write("cus_fuzz,Fuzz,USD,UTC,0,startup,,\n")
    with (ref / "subscriptions.csv").open("a", encoding="utf-8") as fh:
        fh.write("sub_ceiling,cus_ceiling,pro,2026-10-01,\n")
        fh.write("sub_fuzz,cus_fuzz,pro,2026-10-01,\n")


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The tiny data directory with the extra customers, built once: what the good customers
    bill without any bad input."""
    s = settings(make_data_dir(tmp_path_factory.mktemp("clean") / "data"))
    add_customers(s.data_dir)
    assert run_pipeline(s, progress=False)
    return s


def jsonl(path: Path, lines: list[dict[str, object] | bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = b"".join(
        (x if isinstance(x, bytes) else json.dumps(x, sort_keys=True).encode()) + b"\n"
        for x in lines
    )
    path.write_bytes(body)


def write_poison(data: Path) -> None:
    usage = data / "raw" / "usage"
    ceiling = [
        event("x1", "cus_ceiling", LLM, OCT, provider="openai", model="gpt-4o", input_tokens=C),
        event("x2", "cus_ceiling", LLM, OCT, provider="openai", model="gpt-4o", output_tokens=C),
        event("x3", "cus_ceiling", "image.generation", OCT, images=C),
        event("x4", "cus_ceiling", "embedding", OCT, requests=C),
    ]
    above = [  # quarantined: above the ceiling, before the floor, an impossible offset
        event("p1", "cus_acme", LLM, OCT, model="gpt-4o-mini", input_tokens=C + 1),
        event("p2", "cus_acme", LLM, OCT, model="gpt-4o-mini", input_tokens=10**17),
        event("p3", "cus_acme", LLM, OCT, model="gpt-4o-mini", input_tokens=2**63 - 1),
        event("p4", "cus_ceiling", "image.generation", OCT, images=C + 1),
        event("p5", "cus_acme", LLM, "0001-01-01T00:00:00Z", model="gpt-4o-mini", input_tokens=1),
        event("p6", "cus_acme", LLM, "1970-01-01T00:00:00Z", model="gpt-4o-mini", input_tokens=1),
        event("p7", "cus_acme", LLM, "2026-10-13T09:00:00+25:00", model="gpt-4o-mini"),
    ]
    jsonl(usage / "ceiling_2026-11-01.jsonl", [*ceiling, *above])
    # a line that is not UTF-8 between two repeats of good events (duplicates: no new billing)
    good = json.dumps(
        event(
            "a1",
            "cus_acme",
            LLM,
            "2026-10-13T09:00:00Z",
            provider="openai",
            model="gpt-4o-mini",
            input_tokens=1_500_000,
            output_tokens=0,
        ),
        sort_keys=True,
    ).encode()
    jsonl(usage / "zz_encoding_2026-11-01.jsonl", [good, b'{"id": "bad\xff\xfe"}', good])
    (usage / "junk_2026-11-01.parquet").write_bytes(b"PAR1 this is not parquet")
    nested = "1"
    for _ in range(40):
        nested = f"[{nested}]"
    con = duckdb.connect()
    con.execute(
        f"copy (select 'd1' as id, 'gw' as source, '{LLM}' as type, 'cus_acme' as subject, "
        f"timestamp '2026-10-10 00:00:00' as time, {nested} as deep) "
        f"to '{usage / 'deep_2026-11-01.parquet'}' (format parquet)"
    )
    con.close()
    (usage / "short_2026-11-01.csv").write_text(
        "id,source,type,subject,time,model,input_tokens,output_tokens,feature,status\n"
        "s1,gw,llm.completion,cus_acme\n",
        encoding="utf-8",
    )


INVOICES_SQL = (
    "select customer_id, period, total from marts.fct_invoices "
    "where period = '2026-10' order by customer_id"
)


def test_poison_beside_good_files_builds_and_the_good_rows_bill_exactly(
    clean: Settings, tmp_path: Path
) -> None:
    poisoned = settings(make_data_dir(tmp_path / "poisoned"))
    add_customers(poisoned.data_dir)
    write_poison(poisoned.data_dir)
    assert run_pipeline(poisoned, progress=False)

    # the good customers' invoices are exactly those of the run without the bad input
    good = "customer_id in ('cus_acme', 'cus_globex', 'cus_northwind')"
    lines_sql = (
        "select customer_id, period, line_no, line_type, meter_code, dimensions, quantity, "
        f"amount from marts.fct_invoice_lines where {good} order by all"
    )
    assert query(poisoned, lines_sql) == query(clean, lines_sql)
    totals = dict(((c, p), t) for c, p, t in query(poisoned, INVOICES_SQL) if c != "cus_ceiling")
    assert totals[("cus_acme", "2026-10")] == Decimal("64.17")  # hand-computed, support doc
    assert totals[("cus_northwind", "2026-10")] == Decimal("1080.00")  # PRICING.md

    # the ceiling bills (PRICING.md's Pro price book, by hand):
    #   fee 99.00; gpt-4o input (10^10 - 10^6 free) x 2.50 / 10^6 = 24,997.50;
    #   gpt-4o output 10^10 x 10.00 / 10^6 = 100,000.00; images graduated 1,000 x 0.05
    #   + (4,000 x 0.04 + 2.00) + (10^10 - 5,000) x 0.03 = 300,000,062.00;
    #   requests ceil(10^10 / 1,000) = 10^7 packages x 0.50 = 5,000,000.00
    ceiling_lines = {
        (m, a)
        for m, a in query(
            poisoned,
            "select coalesce(meter_code, line_type), amount from marts.fct_invoice_lines "
            "where customer_id = 'cus_ceiling' and period = '2026-10'",
        )
    }
    assert ceiling_lines == {
        ("subscription", Decimal("99.00")),
        ("llm_input_tokens", Decimal("24997.50")),
        ("llm_output_tokens", Decimal("100000.00")),
        ("images", Decimal("300000062.00")),
        ("api_requests", Decimal("5000000.00")),
        ("tax", Decimal("0.00")),  # tax rate 0
    }
    assert query(
        poisoned,
        "select total from marts.fct_invoices where customer_id = 'cus_ceiling' "
        "and period = '2026-10'",
    ) == [(Decimal("305125158.50"),)]

    # what was refused, and why
    assert query(
        poisoned,
        "select file_path, row_number, reason_code from raw.quarantine "
        "where file_path like '%2026-11-01.%' and file_path not like '%usage_2026%' "
        "order by 1, 2",
    ) == [
        ("raw/usage/ceiling_2026-11-01.jsonl", 5, "quantity_out_of_range"),
        ("raw/usage/ceiling_2026-11-01.jsonl", 6, "quantity_out_of_range"),
        ("raw/usage/ceiling_2026-11-01.jsonl", 7, "quantity_out_of_range"),
        ("raw/usage/ceiling_2026-11-01.jsonl", 8, "quantity_out_of_range"),
        ("raw/usage/ceiling_2026-11-01.jsonl", 9, "time_out_of_range"),
        ("raw/usage/ceiling_2026-11-01.jsonl", 10, "time_out_of_range"),
        ("raw/usage/ceiling_2026-11-01.jsonl", 11, "invalid_time"),
        ("raw/usage/deep_2026-11-01.parquet", 0, "unreadable_file"),
        ("raw/usage/junk_2026-11-01.parquet", 0, "unreadable_file"),
        ("raw/usage/short_2026-11-01.csv", 1, "unparseable"),
        ("raw/usage/zz_encoding_2026-11-01.jsonl", 2, "invalid_encoding"),
    ]
    assert query(
        poisoned,
        "select file_path, status, raw_rows, loaded_rows, duplicate_rows, quarantined_rows "
        "from raw.load_manifest where source = 'usage' order by 1",
    ) == [
        ("raw/usage/ceiling_2026-11-01.jsonl", "loaded", 11, 4, 0, 7),
        ("raw/usage/deep_2026-11-01.parquet", "rejected", 1, 0, 0, 1),
        ("raw/usage/junk_2026-11-01.parquet", "rejected", 1, 0, 0, 1),
        ("raw/usage/short_2026-11-01.csv", "loaded", 1, 0, 0, 1),
        ("raw/usage/usage_2026-11-01.jsonl", "loaded", 11, 11, 0, 0),
        ("raw/usage/usage_2026-11-10.jsonl", "loaded", 2, 2, 0, 0),
        ("raw/usage/zz_encoding_2026-11-01.jsonl", "loaded", 3, 0, 2, 1),
    ]
    # the run succeeded and its log carries the warning naming the rejected files
    log = read_run_log(poisoned)
    assert log is not None and log.status == "succeeded" and not log.failed_checks
    (warn,) = [c for c in log.checks if c.check == "files_rejected_or_flagged"]
    assert (warn.passed, warn.blocking) == (False, False)
    assert "deep_2026-11-01.parquet rejected" in warn.detail
    assert "junk_2026-11-01.parquet rejected" in warn.detail

    # a second run changes nothing
    before = {sch: mart_checksums(poisoned, sch) for sch in ("marts", "intermediate", "raw")}
    assert run_pipeline(poisoned, progress=False)
    after = {sch: mart_checksums(poisoned, sch) for sch in ("marts", "intermediate", "raw")}
    assert after == before


# --- fuzz ---------------------------------------------------------------------------------------

EXAMPLES = int(os.environ.get("METERLINE_FUZZ_EXAMPLES", "30"))
RANDOM = os.environ.get("METERLINE_FUZZ_RANDOM") == "1"

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
    st.integers(0, 12)
    .flatmap(lambda p: st.decimals(allow_nan=False, allow_infinity=False, places=p))
    .map(str),
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


def _assert_conserved(s: Settings, loads: list[FileLoad]) -> None:
    for f in loads:
        assert f.raw_rows == f.loaded_rows + f.duplicate_rows + f.quarantined_rows, f
    assert query(s, CONSERVATION_SQL) == []


def test_fuzzed_usage_files_never_stop_the_warehouse(clean: Settings, tmp_path: Path) -> None:
    s = settings(make_data_dir(tmp_path / "fuzz"))
    add_customers(s.data_dir)
    ingest_reference(s)
    ingest_usage(s)  # the good files first: each example then loads only its own files
    usage = s.data_dir / "raw" / "usage"
    stats = {"examples": 0, "files": 0, "rejected": 0, "quarantined": 0, "loaded": 0}

    @hypothesis_settings(
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
