"""Issue 18 end to end: bad usage files and poison values beside the tiny data directory's good
files. The run succeeds (rejected files are a warning, not a block), the good customers bill
exactly what they bill without the bad input, an event AT the quantity ceiling bills and builds
(amounts computed by hand below), and a second run changes nothing."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from orchestration.config import Settings
from orchestration.defs.quality.run_log import read_run_log
from orchestration.ingest.usage import QUANTITY_CEILING
from orchestration.pipeline import run_pipeline
from tests.support.pipeline import event, make_data_dir, mart_checksums, query

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::Warning")]

C = QUANTITY_CEILING  # 10,000,000,000
LLM = "llm.completion"
OCT = "2026-10-10T12:00:00Z"


def settings(data: Path) -> Settings:
    return Settings(data_dir=data, warehouse=data / "warehouse.duckdb")


def add_ceiling_customer(data: Path) -> None:
    """cus_ceiling: UTC, tax 0, Pro (tests/support/pipeline.py PRO_V1_YML) all October."""
    ref = data / "reference"
    with (ref / "customers.csv").open("a", encoding="utf-8") as fh:
        fh.write("cus_ceiling,Ceiling,USD,UTC,0,startup,,\n")
    with (ref / "subscriptions.csv").open("a", encoding="utf-8") as fh:
        fh.write("sub_ceiling,cus_ceiling,pro,2026-10-01,\n")


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


def test_poison_beside_good_files_builds_and_the_good_rows_bill_exactly(tmp_path: Path) -> None:
    clean = settings(make_data_dir(tmp_path / "clean"))
    add_ceiling_customer(clean.data_dir)
    poisoned = settings(make_data_dir(tmp_path / "poisoned"))
    add_ceiling_customer(poisoned.data_dir)
    write_poison(poisoned.data_dir)

    assert run_pipeline(clean, progress=False)
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
