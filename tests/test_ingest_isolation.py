"""Issue 18, the usage-file side: no input stops ingest. Each case is written beside a good
file; the good file's rows load exactly, the bad input is quarantined (a row) or rejected (a
whole file, one quarantined unit), and every file is conserved:
raw = loaded + duplicates + quarantined."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from orchestration.config import Settings
from orchestration.defs.quality.checks import CONSERVATION_SQL
from orchestration.ingest import FileLoad, ingest_reference, ingest_usage
from orchestration.ingest.manifest import file_warnings, rejected_files
from orchestration.ingest.usage import (
    DEFAULT_MIN_EVENT_TIME,
    MIN_EVENT_TIME_ENV,
    PARQUET_MAX_COLUMNS,
    QUANTITY_CEILING,
)
from orchestration.warehouse import connect
from tests.support.ingest import event, query, write_jsonl, write_reference

GOOD = "raw/usage/good_2026-10-05.jsonl"
GOOD_ROWS = [
    ("g1", "cus_acme", "gpt-4o", 1200, 300, None),
    ("g2", "cus_beta", "gpt-4o-mini", 5, 7, None),
    ("g3", "cus_beta", None, None, None, 2),
]


@pytest.fixture
def s(tmp_settings: Settings) -> Settings:
    write_reference(tmp_settings)
    ingest_reference(tmp_settings)
    write_jsonl(
        tmp_settings.data_dir / GOOD,
        [
            event("g1", model="gpt-4o", input_tokens=1200, output_tokens=300),
            event("g2", subject="cus_beta", model="gpt-4o-mini", input_tokens=5, output_tokens=7),
            event("g3", subject="cus_beta", etype="image.generation", images=2),
        ],
    )
    return tmp_settings


def usage_dir(s: Settings) -> Path:
    d = s.raw_dir / "usage"
    d.mkdir(parents=True, exist_ok=True)
    return d


def by_path(loads: list[FileLoad]) -> dict[str, FileLoad]:
    return {f.file_path: f for f in loads}


def counts(f: FileLoad) -> tuple[int, int, int, int]:
    return (f.raw_rows, f.loaded_rows, f.duplicate_rows, f.quarantined_rows)


def assert_good_file_loaded(s: Settings, loads: list[FileLoad]) -> None:
    """The good file beside the bad input: every row loaded, values exact; every file
    conserved (the blocking check's SQL finds nothing)."""
    assert counts(by_path(loads)[GOOD]) == (3, 3, 0, 0)
    assert (
        query(
            s,
            "select event_id, customer_id, model, input_tokens, output_tokens, images "
            "from raw.usage_events where file_path = ? order by event_id",
            [GOOD],
        )
        == GOOD_ROWS
    )
    assert query(s, CONSERVATION_SQL) == []


def quarantined(s: Settings, path: str) -> list[tuple[int, str, str]]:
    return query(
        s,
        "select row_number, reason_code, reason_detail from raw.quarantine "
        "where file_path = ? order by row_number",
        [path],
    )


def manifest_row(s: Settings, path: str) -> list[tuple[str, int, int, str | None]]:
    return query(
        s,
        "select status, raw_rows, quarantined_rows, rejected_reason from raw.load_manifest "
        "where file_path = ? order by batch_id",
        [path],
    )


def write_parquet(path: Path, select: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"copy ({select}) to '{path}' (format parquet)")
    con.close()


# --- 1. file isolation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        (
            "empty_2026-10-05.parquet",
            b"",
            "not a readable Parquet file: Invalid Input Error: File "
            "'raw/usage/empty_2026-10-05.parquet' too small to be a Parquet file",
        ),
        (
            "text_2026-10-05.parquet",
            b'{"id": "x"}\n' * 20,
            "not a readable Parquet file: Invalid Input Error: No magic bytes found at end of "
            "file 'raw/usage/text_2026-10-05.parquet'",
        ),
    ],
)
def test_a_file_that_is_not_parquet_is_rejected_and_retried_only_when_it_changes(
    s: Settings, name: str, content: bytes, reason: str
) -> None:
    bad = usage_dir(s) / name
    bad.write_bytes(content)
    rel = f"raw/usage/{name}"
    loads = ingest_usage(s)
    assert counts(by_path(loads)[rel]) == (1, 0, 0, 1)
    assert by_path(loads)[rel].rejected_reason == reason
    assert manifest_row(s, rel) == [("rejected", 1, 1, reason)]
    assert quarantined(s, rel) == [(0, "unreadable_file", f"file rejected: {reason}")]
    assert_good_file_loaded(s, loads)
    with connect(s.warehouse, read_only=True) as con:
        assert [(p, r) for p, _, r in rejected_files(con)] == [(rel, reason)]

    # the same bytes again: skipped, nothing new
    again = ingest_usage(s)
    assert [f.skipped for f in again] == [True, True]
    assert manifest_row(s, rel) == [("rejected", 1, 1, reason)]

    # new bytes (a real Parquet file): loaded, and the rejection is history
    bad.unlink()
    write_parquet(
        bad,
        "select 'p1' as id, 'gw' as source, 'llm.completion' as type, 'cus_acme' as subject, "
        "timestamp '2026-10-05 01:00:00' as time, 'gpt-4o' as model, 11 as input_tokens",
    )
    (fixed,) = [f for f in ingest_usage(s) if not f.skipped]
    assert counts(fixed) == (1, 1, 0, 0)
    assert [m[0] for m in manifest_row(s, rel)] == ["rejected", "loaded"]
    with connect(s.warehouse, read_only=True) as con:
        assert rejected_files(con) == []
    assert query(s, CONSERVATION_SQL) == []


def test_a_truncated_parquet_file_is_rejected(s: Settings) -> None:
    whole = s.data_dir / "whole.parquet"
    write_parquet(
        whole,
        "select 'p' || i as id, 'gw' as source, 'llm.completion' as type, "
        "'cus_acme' as subject, timestamp '2026-10-05 01:00:00' as time, i as input_tokens "
        "from range(1000) t(i)",
    )
    data = whole.read_bytes()
    (usage_dir(s) / "cut_2026-10-05.parquet").write_bytes(data[: len(data) // 2])
    loads = ingest_usage(s)
    cut = by_path(loads)["raw/usage/cut_2026-10-05.parquet"]
    assert counts(cut) == (1, 0, 0, 1)
    assert cut.rejected_reason is not None
    assert cut.rejected_reason.startswith("not a readable Parquet file: ")
    assert_good_file_loaded(s, loads)


def test_a_csv_field_over_the_readers_limit_rejects_the_file_and_names_the_line(
    s: Settings,
) -> None:
    path = usage_dir(s) / "long_2026-10-05.csv"
    path.write_text(
        "id,source,type,subject,time,model,input_tokens\n"
        "c1,gw,llm.completion,cus_acme,2026-10-05T01:00:00Z,gpt-4o,1\n"
        f"c2,gw,llm.completion,cus_acme,2026-10-05T01:00:00Z,{'x' * 2_100_000},1\n",
        encoding="utf-8",
    )
    loads = ingest_usage(s)
    f = by_path(loads)["raw/usage/long_2026-10-05.csv"]
    assert counts(f) == (1, 0, 0, 1)
    assert f.rejected_reason == (
        "Invalid Input Error: CSV Error on Line: 1; Maximum line size of 2000000 bytes "
        "exceeded. Actual Size:2100054 bytes."
    )
    assert_good_file_loaded(s, loads)


@pytest.mark.parametrize("depth", [40, 60])
def test_a_deeply_nested_parquet_file_is_rejected_from_its_footer_in_bounded_time(
    s: Settings, depth: int
) -> None:
    nested = "1"
    for _ in range(depth):
        nested = f"[{nested}]"
    write_parquet(
        usage_dir(s) / "deep_2026-10-05.parquet",
        f"select 'd1' as id, 'gw' as source, 'llm.completion' as type, 'cus_acme' as subject, "
        f"timestamp '2026-10-05 01:00:00' as time, {nested} as deep",
    )
    started = time.perf_counter()
    loads = ingest_usage(s)
    elapsed = time.perf_counter() - started
    f = by_path(loads)["raw/usage/deep_2026-10-05.parquet"]
    assert counts(f) == (1, 0, 0, 1)
    assert f.rejected_reason == (
        "the Parquet schema is nested deeper than 16 levels (reading it would take unbounded time)"
    )
    assert elapsed < 30, elapsed  # 60 levels used to run for 15 minutes and more
    assert_good_file_loaded(s, loads)


def test_a_parquet_file_wider_than_the_limit_is_rejected(s: Settings) -> None:
    cols = ", ".join(f"{i} as c{i}" for i in range(PARQUET_MAX_COLUMNS + 1))
    write_parquet(
        usage_dir(s) / "wide_2026-10-05.parquet",
        f"select 'w1' as id, 'gw' as source, 'llm.completion' as type, 'cus_acme' as subject, "
        f"timestamp '2026-10-05 01:00:00' as time, {cols}",
    )
    loads = ingest_usage(s)
    f = by_path(loads)["raw/usage/wide_2026-10-05.parquet"]
    assert counts(f) == (1, 0, 0, 1)
    assert f.rejected_reason == "the Parquet schema has more than 1000 columns (leaf fields)"
    assert_good_file_loaded(s, loads)


def test_a_csv_whose_header_is_not_utf8_is_rejected(s: Settings) -> None:
    (usage_dir(s) / "hdr_2026-10-05.csv").write_bytes(
        b"id,source,type,subject,time,mod\xe9le,input_tokens\n"
        b"c1,gw,llm.completion,cus_acme,2026-10-05T01:00:00Z,gpt-4o,1\n"
    )
    loads = ingest_usage(s)
    f = by_path(loads)["raw/usage/hdr_2026-10-05.csv"]
    assert counts(f) == (1, 0, 0, 1)
    assert f.rejected_reason == (
        "the CSV header line is not valid UTF-8 (first bad byte at offset 31)"
    )
    assert quarantined(s, "raw/usage/hdr_2026-10-05.csv")[0][:2] == (1, "unreadable_file")
    assert_good_file_loaded(s, loads)


def test_a_csv_with_a_data_column_of_json_text_is_refused_with_a_reason(s: Settings) -> None:
    (usage_dir(s) / "json_2026-10-05.csv").write_text(
        "id,source,type,subject,time,data\nc1,gw,llm.completion,cus_acme,2026-10-05T01:00:00Z,"
        '"{""input_tokens"": 5}"\n',
        encoding="utf-8",
    )
    loads = ingest_usage(s)
    f = by_path(loads)["raw/usage/json_2026-10-05.csv"]
    assert counts(f) == (1, 0, 0, 1)
    assert f.rejected_reason == (
        "column data is VARCHAR, not a struct: write the data keys as columns (input_tokens or "
        "data.input_tokens) or as a struct column `data`"
    )
    assert_good_file_loaded(s, loads)


# --- 2. row isolation --------------------------------------------------------------------------


def test_a_jsonl_line_that_is_not_utf8_is_quarantined_and_its_neighbours_load(
    s: Settings,
) -> None:
    ok1 = b'{"id":"u1","source":"gw","type":"llm.completion","subject":"cus_acme",'
    ok1 += b'"time":"2026-10-05T01:00:00Z","data":{"model":"m","input_tokens":10}}'
    bad = ok1.replace(b'"u1"', b'"u2"').replace(b'"m"', b'"m\xff\xfe"')
    ok3 = ok1.replace(b'"u1"', b'"u3"').replace(b":10}", b":30}")
    (usage_dir(s) / "enc_2026-10-05.jsonl").write_bytes(ok1 + b"\n" + bad + b"\n" + ok3 + b"\n")
    loads = ingest_usage(s)
    rel = "raw/usage/enc_2026-10-05.jsonl"
    assert counts(by_path(loads)[rel]) == (3, 2, 0, 1)
    offset = len(ok1) + 1 + bad.index(b"\xff")
    assert query(
        s,
        "select row_number, reason_code, reason_detail, raw_record from raw.quarantine "
        "where file_path = ?",
        [rel],
    ) == [
        (
            2,
            "invalid_encoding",
            f"not valid UTF-8 (first bad byte at file offset {offset})",
            bad.decode("utf-8", "backslashreplace"),
        )
    ]
    assert query(
        s,
        "select row_number, event_id, input_tokens from raw.usage_events where file_path = ? "
        "order by 1",
        [rel],
    ) == [(1, "u1", 10), (3, "u3", 30)]
    assert_good_file_loaded(s, loads)
    # the sanitized copy read instead of the file is gone
    assert list((s.data_dir / ".meterline" / "tmp").glob("*")) == []


def test_a_csv_row_that_is_not_utf8_is_quarantined_and_its_neighbours_load(s: Settings) -> None:
    (usage_dir(s) / "enc_2026-10-05.csv").write_bytes(
        b"id,source,type,subject,time,model,input_tokens\n"
        b"c1,gw,llm.completion,cus_acme,2026-10-05T01:00:00Z,gpt-4o,1\n"
        b"c2,gw,llm.completion,cus_acme,2026-10-05T01:00:00Z,gpt-\xc3\x28,2\n"
        b"c3,gw,llm.completion,cus_acme,2026-10-05T01:00:00Z,gpt-4o,3\n"
    )
    loads = ingest_usage(s)
    rel = "raw/usage/enc_2026-10-05.csv"
    assert counts(by_path(loads)[rel]) == (3, 2, 0, 1)
    assert [q[:2] for q in quarantined(s, rel)] == [(2, "invalid_encoding")]
    assert query(
        s,
        "select row_number, event_id, input_tokens from raw.usage_events where file_path = ? "
        "order by 1",
        [rel],
    ) == [(1, "c1", 1), (3, "c3", 3)]
    assert_good_file_loaded(s, loads)


def test_a_short_or_long_csv_row_is_one_quarantined_row(s: Settings) -> None:
    header = "id,source,type,subject,time,model,input_tokens,output_tokens,feature,status"
    (usage_dir(s) / "short_2026-10-05.csv").write_text(
        f"{header}\n"
        "c1,gw,llm.completion,cus_acme,2026-10-05T01:00:00Z,gpt-4o,1,2,chat,success\n"
        "c2,gw,llm.completion,cus_acme\n"
        "c3,gw,llm.completion,cus_acme,2026-10-05T01:00:00Z,gpt-4o,1,2,chat,success,x,y\n"
        "c4,gw,llm.completion,cus_acme,2026-10-05T01:00:00Z,gpt-4o,4,2,chat,success\n",
        encoding="utf-8",
    )
    loads = ingest_usage(s)
    rel = "raw/usage/short_2026-10-05.csv"
    assert counts(by_path(loads)[rel]) == (4, 2, 0, 2)
    assert [q[:2] for q in quarantined(s, rel)] == [(2, "unparseable"), (3, "unparseable")]
    assert_good_file_loaded(s, loads)


@pytest.mark.parametrize("name", ["nl_2026-10-05.csv", "nl_2026-10-05.jsonl"])
def test_a_file_of_two_newlines_has_no_row(s: Settings, name: str) -> None:
    (usage_dir(s) / name).write_bytes(b"\n\n")
    loads = ingest_usage(s)
    f = by_path(loads)[f"raw/usage/{name}"]
    assert counts(f) == (0, 0, 0, 0) and f.rejected_reason is None
    assert_good_file_loaded(s, loads)


def test_a_jsonl_file_starting_with_a_bom_keeps_its_first_row(s: Settings) -> None:
    path = usage_dir(s) / "bom_2026-10-05.jsonl"
    write_jsonl(path, [event("b1", input_tokens=1), event("b2", input_tokens=2)])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    loads = ingest_usage(s)
    assert counts(by_path(loads)["raw/usage/bom_2026-10-05.jsonl"]) == (2, 2, 0, 0)
    assert query(
        s,
        "select event_id, input_tokens from raw.usage_events where event_id like 'b%' order by 1",
    ) == [("b1", 1), ("b2", 2)]
    assert_good_file_loaded(s, loads)


def test_rfc3339_times_lowercase_accepted_and_offsets_beyond_23_59_refused(s: Settings) -> None:
    write_jsonl(
        usage_dir(s) / "times_2026-10-05.jsonl",
        [
            event("t1", time="2026-10-05t01:02:03z", input_tokens=1),
            event("t2", time="2026-10-05T01:02:03+23:59", input_tokens=2),
            event("t3", time="2026-10-05T01:02:03+25:00", input_tokens=3),
            event("t4", time="2026-10-05T01:02:03-24:00", input_tokens=4),
            event("t5", time="2026-10-05T01:02:03+05:60", input_tokens=5),
        ],
    )
    loads = ingest_usage(s)
    rel = "raw/usage/times_2026-10-05.jsonl"
    assert counts(by_path(loads)[rel]) == (5, 2, 0, 3)
    assert query(
        s,
        "select event_id, strftime(event_time, '%Y-%m-%d %H:%M:%S') from raw.usage_events "
        "where file_path = ? order by 1",
        [rel],
    ) == [("t1", "2026-10-05 01:02:03"), ("t2", "2026-10-04 01:03:03")]
    assert [q[:2] for q in quarantined(s, rel)] == [
        (3, "invalid_time"),
        (4, "invalid_time"),
        (5, "invalid_time"),
    ]
    assert_good_file_loaded(s, loads)


# --- 3. poison values --------------------------------------------------------------------------


def test_quantities_above_the_ceiling_are_quarantined_and_the_ceiling_itself_loads(
    s: Settings,
) -> None:
    c = QUANTITY_CEILING
    assert c == 10**10
    write_jsonl(
        usage_dir(s) / "big_2026-10-05.jsonl",
        [
            event("q1", model="gpt-4o", input_tokens=c, output_tokens=c, cached_input_tokens=c),
            event("q2", input_tokens=c + 1),
            event("q3", input_tokens=100000000000000000),
            event("q4", input_tokens=2**63 - 1),
            event("q5", input_tokens=2**64 - 1),
            event("q6", etype="gpu.job", gpu_seconds="10000000000.000001"),
            event("q7", etype="gpu.job", gpu_seconds=f"{c}.000000"),
            event("q8", etype="gpu.job", gpu_seconds=1e30),
            event("q9", etype="image.generation", images=-(c + 1)),
        ],
    )
    loads = ingest_usage(s)
    rel = "raw/usage/big_2026-10-05.jsonl"
    assert counts(by_path(loads)[rel]) == (9, 2, 0, 7)
    assert quarantined(s, rel) == [
        (
            2,
            "quantity_out_of_range",
            "input_tokens 10000000001 is above the ceiling of 10,000,000,000 per event",
        ),
        (
            3,
            "quantity_out_of_range",
            "input_tokens 100000000000000000 is above the ceiling of 10,000,000,000 per event",
        ),
        (
            4,
            "quantity_out_of_range",
            "input_tokens 9223372036854775807 is above the ceiling of 10,000,000,000 per event",
        ),
        (
            5,
            "quantity_out_of_range",
            "input_tokens 18446744073709551615 is above the ceiling of 10,000,000,000 per event",
        ),
        (
            6,
            "quantity_out_of_range",
            "gpu_seconds 10000000000.000001 is above the ceiling of 10,000,000,000 per event",
        ),
        (
            8,
            "quantity_out_of_range",
            "gpu_seconds 1e30 is above the ceiling of 10,000,000,000 per event",
        ),
        (
            9,
            "quantity_out_of_range",
            "images -10000000001 is above the ceiling of 10,000,000,000 per event",
        ),
    ]
    assert query(
        s,
        "select event_id, input_tokens, output_tokens, cached_input_tokens, gpu_seconds "
        "from raw.usage_events where file_path = ? order by 1",
        [rel],
    ) == [("q1", c, c, c, None), ("q7", None, None, None, Decimal(c))]
    assert_good_file_loaded(s, loads)


def test_parquet_uint64_max_is_one_quarantined_row_not_a_failed_file(s: Settings) -> None:
    write_parquet(
        usage_dir(s) / "u64_2026-10-05.parquet",
        "select 'p' || i as id, 'gw' as source, 'llm.completion' as type, "
        "'cus_acme' as subject, timestamp '2026-10-05 01:00:00' as time, "
        "case when i = 1 then 18446744073709551615 else i end::ubigint as input_tokens, "
        "case when i = 2 then 18446744073709551615 else 5 end::ubigint as latency_ms "
        "from range(4) t(i)",
    )
    loads = ingest_usage(s)
    rel = "raw/usage/u64_2026-10-05.parquet"
    assert counts(by_path(loads)[rel]) == (4, 2, 0, 2)
    assert [q[:2] for q in quarantined(s, rel)] == [
        (2, "quantity_out_of_range"),
        (3, "invalid_quantity"),
    ]
    assert query(
        s,
        "select event_id, input_tokens, latency_ms from raw.usage_events where file_path = ? "
        "order by 1",
        [rel],
    ) == [("p0", 0, 5), ("p3", 3, 5)]
    assert_good_file_loaded(s, loads)


def test_gpu_seconds_beyond_the_stored_scale_are_refused_not_rounded(s: Settings) -> None:
    write_jsonl(
        usage_dir(s) / "scale_2026-10-05.jsonl",
        [
            event("s1", etype="gpu.job", gpu_seconds="1.000001"),
            event("s2", etype="gpu.job", gpu_seconds="1.0000001"),
            event("s3", etype="gpu.job", gpu_seconds=0.1 + 0.2),
            event("s4", etype="gpu.job", gpu_seconds="2.5000000"),
        ],
    )
    loads = ingest_usage(s)
    rel = "raw/usage/scale_2026-10-05.jsonl"
    assert counts(by_path(loads)[rel]) == (4, 2, 0, 2)
    assert quarantined(s, rel) == [
        (
            2,
            "invalid_quantity",
            "gpu_seconds has more than 6 decimal places (the stored scale): 1.0000001",
        ),
        (
            3,
            "invalid_quantity",
            "gpu_seconds has more than 6 decimal places (the stored scale): 0.30000000000000004",
        ),
    ]
    assert query(
        s,
        "select event_id, gpu_seconds from raw.usage_events where file_path = ? order by 1",
        [rel],
    ) == [("s1", Decimal("1.000001")), ("s4", Decimal("2.5"))]
    assert_good_file_loaded(s, loads)


def test_times_before_the_floor_are_quarantined_and_the_floor_is_configurable(
    s: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert DEFAULT_MIN_EVENT_TIME.isoformat() == "2020-01-01T00:00:00"
    write_jsonl(
        usage_dir(s) / "old_2026-10-05.jsonl",
        [
            event("o1", time="0001-01-01T00:00:00Z", input_tokens=1),
            event("o2", time="1970-01-01T00:00:00Z", input_tokens=2),
            event("o3", time="2019-12-31T23:59:59.999Z", input_tokens=3),
            event("o4", time="2020-01-01T00:00:00Z", input_tokens=4),
        ],
    )
    loads = ingest_usage(s)
    rel = "raw/usage/old_2026-10-05.jsonl"
    assert counts(by_path(loads)[rel]) == (4, 1, 0, 3)
    assert quarantined(s, rel)[0] == (
        1,
        "time_out_of_range",
        "time 0001-01-01T00:00:00Z is before the earliest accepted event time "
        "2020-01-01 00:00:00 (METERLINE_MIN_EVENT_TIME)",
    )
    assert [q[1] for q in quarantined(s, rel)] == ["time_out_of_range"] * 3
    assert_good_file_loaded(s, loads)

    monkeypatch.setenv(MIN_EVENT_TIME_ENV, "2026-10-05")
    write_jsonl(
        usage_dir(s) / "later_2026-10-06.jsonl",
        [
            event("l1", time="2026-10-04T23:59:59Z", input_tokens=1),
            event("l2", time="2026-10-05T00:00:00Z", input_tokens=2),
        ],
    )
    (f,) = [x for x in ingest_usage(s) if not x.skipped]
    assert counts(f) == (2, 1, 0, 1)
    assert [q[1] for q in quarantined(s, f.file_path)] == ["time_out_of_range"]


# --- 4. layouts --------------------------------------------------------------------------------


def test_parquet_in_cloudevents_shape_reads_the_data_struct(s: Settings) -> None:
    write_parquet(
        usage_dir(s) / "ce_2026-10-05.parquet",
        "select 'ce' || i as id, 'gw' as source, 'llm.completion' as type, "
        "'cus_acme' as subject, timestamp '2026-10-05 01:00:00' as time, '1.0' as specversion, "
        "{'model': 'gpt-4o', 'input_tokens': 100 + i, 'output_tokens': 7, "
        "'prompt_version': 'v' || i} as data from range(2) t(i)",
    )
    loads = ingest_usage(s)
    rel = "raw/usage/ce_2026-10-05.parquet"
    assert counts(by_path(loads)[rel]) == (2, 2, 0, 0)
    assert by_path(loads)[rel].warning is None
    assert query(
        s,
        "select event_id, model, input_tokens, output_tokens, extra_data::varchar "
        "from raw.usage_events where file_path = ? order by 1",
        [rel],
    ) == [
        ("ce0", "gpt-4o", 100, 7, '{"prompt_version":"v0"}'),
        ("ce1", "gpt-4o", 101, 7, '{"prompt_version":"v1"}'),
    ]
    assert_good_file_loaded(s, loads)


def test_csv_with_dotted_data_headers_is_read(s: Settings) -> None:
    (usage_dir(s) / "dotted_2026-10-05.csv").write_text(
        "id,source,type,subject,time,data.model,data.input_tokens,data.output_tokens,data.Region\n"
        "d1,gw,llm.completion,cus_acme,2026-10-05T01:00:00Z,gpt-4o,100,7,eu\n",
        encoding="utf-8",
    )
    loads = ingest_usage(s)
    rel = "raw/usage/dotted_2026-10-05.csv"
    assert counts(by_path(loads)[rel]) == (1, 1, 0, 0)
    assert query(
        s,
        "select model, input_tokens, output_tokens, extra_data::varchar from raw.usage_events "
        "where file_path = ?",
        [rel],
    ) == [("gpt-4o", 100, 7, '{"Region":"eu"}')]
    assert_good_file_loaded(s, loads)


def test_jsonl_with_data_keys_at_the_top_level_is_read(s: Settings) -> None:
    write_jsonl(
        usage_dir(s) / "flat_2026-10-05.jsonl",
        [
            {
                "specversion": "1.0",
                "id": "f1",
                "source": "gw",
                "type": "llm.completion",
                "subject": "cus_acme",
                "time": "2026-10-05T01:00:00Z",
                "model": "gpt-4o",
                "input_tokens": 100,
                "output_tokens": 7,
                "tool_calls": 2,
            }
        ],
    )
    loads = ingest_usage(s)
    rel = "raw/usage/flat_2026-10-05.jsonl"
    assert counts(by_path(loads)[rel]) == (1, 1, 0, 0)
    assert query(
        s,
        "select model, input_tokens, output_tokens, extra_data::varchar from raw.usage_events "
        "where file_path = ?",
        [rel],
    ) == [("gpt-4o", 100, 7, '{"tool_calls":2}')]
    assert_good_file_loaded(s, loads)


def test_a_file_whose_rows_carry_no_known_quantity_is_flagged(s: Settings) -> None:
    # quantities nested where no reader looks (`usage.input_tokens`): the rows load (they are
    # valid events) but would bill as bare requests; the manifest and the load say so
    write_jsonl(
        usage_dir(s) / "nested_2026-10-05.jsonl",
        [
            event("n1", usage={"input_tokens": 5, "output_tokens": 1}),
            event("n2", usage={"input_tokens": 6, "output_tokens": 1}),
            event("n3", etype="image.generation", images=1),
        ],
    )
    loads = ingest_usage(s)
    rel = "raw/usage/nested_2026-10-05.jsonl"
    warning = (
        "2 llm.completion rows carry none of input_tokens, output_tokens (the fields its "
        "meters read): check the file's layout; they bill as bare events"
    )
    assert counts(by_path(loads)[rel]) == (3, 3, 0, 0)
    assert by_path(loads)[rel].warning == warning
    assert by_path(loads)[GOOD].warning is None
    with connect(s.warehouse, read_only=True) as con:
        assert [(p, w) for p, _, w in file_warnings(con)] == [(rel, warning)]
    assert_good_file_loaded(s, loads)


def test_a_warehouse_from_before_gets_the_manifest_columns(tmp_settings: Settings) -> None:
    """An existing raw.load_manifest (13 columns) is extended, old rows are `loaded`."""
    s = tmp_settings
    with connect(s.warehouse) as con:
        con.execute("create schema raw")
        con.execute(
            "create table raw.load_manifest (batch_id bigint primary key, source varchar not "
            "null, table_name varchar not null, file_path varchar not null, content_hash "
            "varchar not null, file_format varchar not null, arrival_at timestamp not null, "
            "loaded_at timestamp not null, raw_rows bigint not null, loaded_rows bigint not "
            "null, duplicate_rows bigint not null, quarantined_rows bigint not null, "
            "conflict_rows bigint not null)"
        )
        con.execute(
            "insert into raw.load_manifest values (1, 'usage', 'usage_events', 'raw/usage/x', "
            "'h', 'jsonl', now()::timestamp, now()::timestamp, 0, 0, 0, 0, 0)"
        )
    write_reference(s)
    ingest_reference(s)
    assert query(s, "select status, rejected_reason from raw.load_manifest where batch_id = 1") == [
        ("loaded", None)
    ]
