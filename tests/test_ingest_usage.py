"""Usage ingestion: quarantine reasons, duplicates and conflicts, idempotence, formats."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from orchestration.config import Settings, settings
from orchestration.ingest import ingest_reference, ingest_usage
from orchestration.ingest import usage as usage_module
from orchestration.ingest.manifest import arrival_at, discover, now_utc
from orchestration.ingest.sqlexpr import lit
from orchestration.ingest.usage import plan_chunks
from orchestration.warehouse import connect
from tests.support.ingest import (
    copy_fixture,
    event,
    query,
    table_fingerprint,
    write_jsonl,
    write_reference,
)

USAGE_TABLES = ["raw.usage_events", "raw.quarantine", "raw.usage_conflicts", "raw.load_manifest"]


@pytest.fixture
def s(tmp_settings: Settings) -> Settings:
    write_reference(tmp_settings)
    ingest_reference(tmp_settings)
    return tmp_settings


def test_malformed_jsonl_quarantines_every_reason_and_loads_the_good_rows(s: Settings) -> None:
    copy_fixture(
        "usage/malformed_2026-10-04.jsonl", s.raw_dir / "usage" / "malformed_2026-10-04.jsonl"
    )
    (load,) = ingest_usage(s)
    assert (
        load.raw_rows,
        load.loaded_rows,
        load.duplicate_rows,
        load.quarantined_rows,
        load.conflict_rows,
    ) == (15, 3, 2, 10, 1)
    assert load.raw_rows == load.loaded_rows + load.duplicate_rows + load.quarantined_rows

    quarantined = query(s, "select row_number, reason_code from raw.quarantine order by row_number")
    assert quarantined == [
        (3, "unparseable"),
        (4, "missing_id"),
        (5, "missing_subject"),
        (6, "missing_time"),
        (7, "invalid_time"),
        (8, "invalid_quantity"),
        (9, "negative_quantity"),
        (11, "future_time"),
        (12, "unknown_customer"),
        (13, "unknown_event_type"),
    ]
    # the original line is kept, byte for byte
    lines = (s.raw_dir / "usage" / "malformed_2026-10-04.jsonl").read_text().splitlines()
    for row_number, raw_record in query(s, "select row_number, raw_record from raw.quarantine"):
        assert raw_record == lines[row_number - 1]
    details = dict(query(s, "select reason_code, reason_detail from raw.quarantine"))
    assert details["invalid_quantity"] == "input_tokens is not a number: lots"
    assert details["negative_quantity"] == "gpu_seconds is negative: -3.500000"
    assert details["invalid_time"] == "time is not an ISO 8601 timestamp: 10/03/2026 14:22"
    assert details["unknown_customer"] == "subject cus_ghost is not in customers.csv"

    events = query(
        s,
        """
        select row_number, event_source, event_id, event_type, customer_id,
               strftime(event_time, '%Y-%m-%d %H:%M:%S.%f'), model, input_tokens,
               cached_input_tokens, output_tokens, images, latency_ms, feature,
               extra_data::varchar, is_duplicate
        from raw.usage_events order by row_number""",
    )
    assert events == [
        (
            1,
            "gw-1",
            "evt_ok_1",
            "llm.completion",
            "cus_acme",
            "2026-10-03 14:22:05.123000",
            "gpt-4o-2024-08-06",
            1200,
            200,
            350,
            None,
            812,
            "support-bot",
            '{"prompt_version":"v7"}',
            False,
        ),
        (
            2,
            "gw-1",
            "evt_ok_2",
            "image.generation",
            "cus_beta",
            "2026-10-03 09:00:00.000000",
            "dall-e-3",
            None,
            None,
            None,
            2,
            None,
            None,
            None,
            False,
        ),
        (
            14,
            "gw-1",
            "evt_ok_1",
            "llm.completion",
            "cus_acme",
            "2026-10-03 14:22:05.123000",
            "gpt-4o-2024-08-06",
            1200,
            200,
            350,
            None,
            812,
            "support-bot",
            '{"prompt_version":"v7"}',
            True,
        ),
        (
            15,
            "gw-1",
            "evt_ok_2",
            "image.generation",
            "cus_beta",
            "2026-10-03 09:00:00.000000",
            "dall-e-3",
            None,
            None,
            None,
            3,
            None,
            None,
            None,
            True,
        ),
        (
            16,
            "gw-2",
            "evt_ok_2",
            "image.generation",
            "cus_beta",
            "2026-10-03 09:00:00.000000",
            "dall-e-3",
            None,
            None,
            None,
            4,
            None,
            None,
            None,
            False,
        ),
    ]
    conflicts = query(
        s,
        "select event_source, event_id, kept_batch_id, kept_row_number, "
        "conflicting_batch_id, conflicting_row_number, conflicting_file_path "
        "from raw.usage_conflicts",
    )
    assert conflicts == [
        (
            "gw-1",
            "evt_ok_2",
            load.batch_id,
            2,
            load.batch_id,
            15,
            "raw/usage/malformed_2026-10-04.jsonl",
        )
    ]
    manifest = query(
        s,
        "select source, table_name, file_format, "
        "strftime(arrival_at, '%Y-%m-%d %H:%M:%S.%f'), raw_rows, loaded_rows, "
        "duplicate_rows, quarantined_rows, conflict_rows "
        "from raw.load_manifest where batch_id = ?",
        [load.batch_id],
    )
    assert manifest == [
        ("usage", "usage_events", "jsonl", "2026-10-04 23:59:59.999999", 15, 3, 2, 10, 1)
    ]


def test_loading_the_same_directory_twice_changes_nothing(s: Settings) -> None:
    copy_fixture(
        "usage/malformed_2026-10-04.jsonl", s.raw_dir / "usage" / "malformed_2026-10-04.jsonl"
    )
    write_jsonl(
        s.raw_dir / "usage" / "b_2026-10-05.jsonl",
        [event(f"e{i}", input_tokens=i) for i in range(20)],
    )
    first = ingest_usage(s)
    before = table_fingerprint(s, USAGE_TABLES)
    again = ingest_usage(s)
    assert [f.skipped for f in first] == [False, False]
    assert [f.skipped for f in again] == [True, True]
    assert [f.batch_id for f in again] == [f.batch_id for f in first]
    assert table_fingerprint(s, USAGE_TABLES) == before


def test_a_changed_file_is_a_new_batch_and_its_repeats_are_duplicates(s: Settings) -> None:
    path = s.raw_dir / "usage" / "b_2026-10-05.jsonl"
    write_jsonl(path, [event(f"e{i}", input_tokens=i) for i in range(5)])
    (first,) = ingest_usage(s)
    # the export is re-sent with two new events and one changed payload
    write_jsonl(
        path, [event(f"e{i}", input_tokens=i) for i in range(7)] + [event("e0", input_tokens=999)]
    )
    (second,) = ingest_usage(s)
    assert second.batch_id != first.batch_id and not second.skipped
    assert (
        second.raw_rows,
        second.loaded_rows,
        second.duplicate_rows,
        second.quarantined_rows,
        second.conflict_rows,
    ) == (8, 2, 6, 0, 1)
    kept = query(
        s,
        "select event_id, input_tokens from raw.usage_events "
        "where not is_duplicate order by event_id",
    )
    assert kept == [(f"e{i}", i) for i in range(7)]
    assert query(
        s, "select kept_batch_id, kept_row_number, conflicting_row_number from raw.usage_conflicts"
    ) == [(first.batch_id, 1, 8)]
    assert query(
        s,
        "select count(*) from raw.load_manifest where file_path = ?",
        ["raw/usage/b_2026-10-05.jsonl"],
    ) == [(2,)]


def test_parquet_usage_with_typed_columns_and_extra_columns(s: Settings) -> None:
    out = s.raw_dir / "usage" / "batch_2026-10-05.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"""
        copy (
            select 'p' || i as id, 'gw-9' as source,
                case when i = 3 then 'gpu.job' else 'llm.completion' end as type,
                case when i = 4 then 'cus_ghost' else 'cus_beta' end as subject,
                timestamp '2026-10-01 00:00:00' + i * interval 1 hour as time,
                'gpt-4o-mini' as model, i * 1000 as input_tokens, 7 as output_tokens,
                case when i = 3 then 12.5::decimal(10, 3) end as gpu_seconds,
                case when i = 2 then 'blue' end as experiment
            from range(6) t(i)
            union all
            select 'p2', 'gw-9', 'llm.completion', 'cus_beta', timestamp '2026-10-01 02:00:00',
                'gpt-4o-mini', 2000, 7, null, 'blue'
        ) to '{out}' (format parquet)""")
    con.close()
    (load,) = ingest_usage(s)
    assert (
        load.raw_rows,
        load.loaded_rows,
        load.duplicate_rows,
        load.quarantined_rows,
        load.conflict_rows,
    ) == (7, 5, 1, 1, 0)
    assert query(s, "select row_number, reason_code, raw_record from raw.quarantine") == [
        (
            5,
            "unknown_customer",
            '{"id":"p4","source":"gw-9","type":"llm.completion","subject":"cus_ghost",'
            '"time":"2026-10-01 04:00:00","model":"gpt-4o-mini","input_tokens":4000,'
            '"output_tokens":7,"gpu_seconds":null,"experiment":null}',
        )
    ]
    rows = query(
        s,
        "select event_id, input_tokens, gpu_seconds, extra_data::varchar, "
        "is_duplicate from raw.usage_events order by row_number",
    )
    assert rows == [
        ("p0", 0, None, None, False),
        ("p1", 1000, None, None, False),
        ("p2", 2000, None, '{"experiment":"blue"}', False),
        ("p3", 3000, Decimal("12.500000"), None, False),
        ("p5", 5000, None, None, False),
        ("p2", 2000, None, '{"experiment":"blue"}', True),
    ]


def test_csv_usage_with_float_looking_counts_and_a_broken_row(s: Settings) -> None:
    path = s.raw_dir / "usage" / "export.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "id,source,type,subject,time,model,input_tokens,output_tokens,region\n"
        "c1,gw-3,llm.completion,cus_acme,2026-10-02T10:00:00Z,gpt-4o,100.0,20,eu\n"
        "c2,gw-3,llm.completion,cus_acme,2026-10-02T10:01:00Z,gpt-4o,1.5,20,eu\n"
        "c3,gw-3,llm.completion,cus_acme,2026-10-02T10:02:00Z,gpt-4o,10,20,eu,extra\n"
        "c4,gw-3,llm.completion,cus_acme,2026-10-02T10:03:00Z,gpt-4o,10,,\n"
    )
    (load,) = ingest_usage(s)
    assert (load.raw_rows, load.loaded_rows, load.quarantined_rows) == (4, 2, 2)
    assert query(s, "select reason_code, raw_record from raw.quarantine order by reason_code") == [
        (
            "invalid_quantity",
            "c2,gw-3,llm.completion,cus_acme,2026-10-02T10:01:00Z,gpt-4o,1.5,20,eu",
        ),
        (
            "unparseable",
            "c3,gw-3,llm.completion,cus_acme,2026-10-02T10:02:00Z,gpt-4o,10,20,eu,extra",
        ),
    ]
    assert query(s, "select row_number, reason_code from raw.quarantine order by 1") == [
        (2, "invalid_quantity"),
        (3, "unparseable"),
    ]
    rows = query(
        s,
        "select row_number, event_id, input_tokens, output_tokens, "
        "extra_data::varchar from raw.usage_events order by event_id",
    )
    assert rows == [(1, "c1", 100, 20, '{"region":"eu"}'), (4, "c4", 10, None, None)]


def test_usage_data_keys_outside_the_typed_columns_are_kept(s: Settings) -> None:
    write_jsonl(
        s.raw_dir / "usage" / "x.jsonl",
        [event("k1", input_tokens=5, tool_calls=3, meta={"a": [1, 2]}, model="m")],
    )
    ingest_usage(s)
    (extra,) = query(s, "select extra_data::varchar from raw.usage_events")
    assert json.loads(extra[0]) == {"tool_calls": 3, "meta": {"a": [1, 2]}}


def _write_parquet(path: Path, select: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"copy ({select}) to '{path}' (format parquet)")
    con.close()


_ROW = (
    "select {id} as id, 'gw-9' as source, 'llm.completion' as type, {subject} as subject, "
    "timestamp {time} as time, 'gpt-4o-mini' as model, {tokens} as input_tokens, "
    "7 as output_tokens"
)


def _parquet_usage_files(s: Settings) -> None:
    """Two files with one schema (one chunk), a third with an extra column (its own chunk).
    Across them: a repeat, a conflicting repeat, a repeat within a file, an unknown customer,
    and a row that is future for the first file's arrival but not for the second's."""
    usage = s.raw_dir / "usage"

    def rows(*specs: tuple[str, str, str, int]) -> str:
        return " union all ".join(
            _ROW.format(id=f"'{i}'", subject=f"'{c}'", time=f"'{t}'", tokens=n)
            for i, c, t, n in specs
        )

    _write_parquet(
        usage / "a_2026-10-05.parquet",
        rows(
            ("q1", "cus_beta", "2026-10-05 01:00:00", 100),
            ("q2", "cus_beta", "2026-10-05 02:00:00", 200),
            ("q3", "cus_ghost", "2026-10-05 03:00:00", 300),
            ("q4", "cus_beta", "2026-10-07 01:00:00", 400),
        ),
    )
    _write_parquet(
        usage / "b_2026-10-07.parquet",
        rows(
            ("q1", "cus_beta", "2026-10-05 01:00:00", 100),
            ("q2", "cus_beta", "2026-10-05 02:00:00", 999),
            ("q4", "cus_beta", "2026-10-07 01:00:00", 400),
            ("q5", "cus_beta", "2026-10-07 02:00:00", 500),
            ("q5", "cus_beta", "2026-10-07 02:00:00", 500),
        ),
    )
    _write_parquet(
        usage / "c_2026-10-08.parquet",
        "select *, 'eu' as region from ("
        + rows(
            ("q5", "cus_beta", "2026-10-07 02:00:00", 500),
            ("q6", "cus_beta", "2026-10-08 01:00:00", 600),
        )
        + ")",
    )


def test_parquet_files_classified_together_load_exactly_as_one_at_a_time(
    s: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _parquet_usage_files(s)
    with connect(s.warehouse) as con:
        files = discover(s, s.raw_dir / "usage", ["parquet"])
        chunks = plan_chunks(con, [(f, arrival_at(f.rel_path, now_utc())) for f in files])
    assert [[f.path.name for f, _ in c.files] for c in chunks] == [
        ["a_2026-10-05.parquet", "b_2026-10-07.parquet"],
        ["c_2026-10-08.parquet"],
    ]
    loads = ingest_usage(s)
    counts = [
        (x.raw_rows, x.loaded_rows, x.duplicate_rows, x.quarantined_rows, x.conflict_rows)
        for x in loads
    ]
    assert counts == [(4, 2, 0, 2, 0), (5, 2, 3, 0, 1), (2, 1, 1, 0, 1)]
    assert query(
        s, "select file_path, row_number, reason_code from raw.quarantine order by 1, 2"
    ) == [
        ("raw/usage/a_2026-10-05.parquet", 3, "unknown_customer"),
        ("raw/usage/a_2026-10-05.parquet", 4, "future_time"),
    ]
    # reference rows of the manifest arrive at load time: compare the usage files' rows
    manifest = (
        "select * exclude (loaded_at) from raw.load_manifest where source = 'usage' order by 1"
    )
    chunked = (table_fingerprint(s, USAGE_TABLES[:3]), query(s, manifest))

    # the same files loaded one by one into other warehouses: without chunks, and with chunks
    # whose classification fails (each file then falls back to loading alone)
    def failing_classify(con: duckdb.DuckDBPyConnection, chunk: object) -> None:
        raise duckdb.IOException("simulated read failure")

    for name, attr, replacement in (
        ("no_chunks", "plan_chunks", lambda con, pending: []),
        ("failed_chunks", "_classify_chunk", failing_classify),
    ):
        other = settings(tmp_path / name)
        other.data_dir.mkdir()
        write_reference(other)
        ingest_reference(other)
        shutil.copytree(s.raw_dir / "usage", other.raw_dir / "usage")
        with monkeypatch.context() as m:
            m.setattr(usage_module, attr, replacement)
            ingest_usage(other)
        assert (table_fingerprint(other, USAGE_TABLES[:3]), query(other, manifest)) == chunked


def test_an_unreadable_parquet_file_is_rejected_and_the_good_files_load(s: Settings) -> None:
    _parquet_usage_files(s)
    bad = s.raw_dir / "usage" / "d_2026-10-09.parquet"
    bad.write_bytes(b"PAR1 not really parquet")
    loads = ingest_usage(s)
    assert [(x.file_path, x.raw_rows, x.quarantined_rows, x.rejected_reason) for x in loads] == [
        ("raw/usage/a_2026-10-05.parquet", 4, 2, None),
        ("raw/usage/b_2026-10-07.parquet", 5, 0, None),
        ("raw/usage/c_2026-10-08.parquet", 2, 0, None),
        (
            "raw/usage/d_2026-10-09.parquet",
            1,
            1,
            "not a readable Parquet file: Invalid Input Error: No magic bytes found at end of "
            "file 'raw/usage/d_2026-10-09.parquet'",
        ),
    ]
    assert query(
        s,
        "select file_path, status, raw_rows, quarantined_rows from raw.load_manifest "
        "where source = 'usage' order by 1",
    ) == [
        ("raw/usage/a_2026-10-05.parquet", "loaded", 4, 2),
        ("raw/usage/b_2026-10-07.parquet", "loaded", 5, 0),
        ("raw/usage/c_2026-10-08.parquet", "loaded", 2, 0),
        ("raw/usage/d_2026-10-09.parquet", "rejected", 1, 1),
    ]


# Text in the canonical UTC form (valid and invalid dates, fractions, bounds) and text that is
# not, which must take the general path unchanged.
_TIMES = [
    "2026-10-29T00:00:07.772Z",
    "2026-10-29T00:00:07Z",
    "2026-10-29T00:00:07.1Z",
    "2026-10-29T00:00:07.123456Z",
    "2026-10-29T00:00:07.000000Z",
    "2024-02-29T00:00:00Z",
    "2026-02-29T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "2026-00-01T00:00:00Z",
    "2026-10-00T00:00:00Z",
    "2026-10-29T24:00:00Z",
    "2026-10-29T23:59:60Z",
    "2026-10-29T23:60:00Z",
    "2026-10-29T25:00:00Z",
    "0000-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999Z",
    "1969-12-31T23:59:59.5Z",
    "2026-10-29T00:00:07.Z",
    "2026-10-29T00:00:07.1234567Z",
    "2026-10-29t00:00:07z",
    "2026-10-29T02:00:07+02:00",
    "2026-10-29 00:00:07",
    " 2026-10-29T00:00:07Z ",
    "2026-10-29",
    "10/29/2026 00:00",
    "",
]


def test_canonical_utc_times_parse_as_the_general_path_does() -> None:
    """``_time_parse`` casts canonical UTC text directly and everything else through the general
    path: the same value (or NULL) for every text, and the canonical form is a subset of the
    accepted pattern."""
    con = duckdb.connect()
    fast, general = usage_module._time_parse("t"), usage_module._time_parse_general("t")
    rows = con.execute(
        f"select t, {fast}, {general}, "
        f"regexp_full_match(t, {lit(usage_module.USAGE_TS_UTC)}), "
        f"regexp_full_match(trim(t), {lit(usage_module.USAGE_TS_PATTERN)}) "
        "from unnest(?) as u(t) order by t",
        [_TIMES],
    ).fetchall()
    assert len(rows) == len(_TIMES)
    for text, value, expected, canonical, accepted in rows:
        assert value == expected, text
        assert accepted or not canonical, text
    canonical = [r[0] for r in rows if r[3]]
    # the direct cast is exercised, on valid and on impossible dates
    assert "2026-10-29T00:00:07.772Z" in canonical and "2026-02-30T00:00:00Z" in canonical
    assert "2026-10-29T00:00:07.1234567Z" not in canonical
