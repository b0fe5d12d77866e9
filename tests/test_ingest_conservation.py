"""Conservation: per file, raw rows = loaded + duplicates + quarantined, and every count is
what the tables hold -- on the generator's demo data (checked against its planted truth) and on
random event files (Hypothesis)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterline_dev.generator import generate
from orchestration.config import Settings
from orchestration.config import settings as make_settings
from orchestration.ingest import FileLoad, ingest_reference, ingest_usage
from tests.support.ingest import event, query, write_jsonl, write_reference


def _assert_counts_match_tables(s: Settings, f: FileLoad) -> None:
    assert f.raw_rows == f.loaded_rows + f.duplicate_rows + f.quarantined_rows
    ((kept, dups, quarantined, conflicts, manifest),) = query(
        s,
        """
        select
            (select count(*) filter (where not is_duplicate) from raw.usage_events
             where batch_id = $1),
            (select count(*) filter (where is_duplicate) from raw.usage_events
             where batch_id = $1),
            (select count(*) from raw.quarantine where batch_id = $1),
            (select count(*) from raw.usage_conflicts where conflicting_batch_id = $1),
            (select raw_rows from raw.load_manifest where batch_id = $1)""",
        [f.batch_id],
    )
    assert (kept, dups, quarantined, conflicts, manifest) == (
        f.loaded_rows,
        f.duplicate_rows,
        f.quarantined_rows,
        f.conflict_rows,
        f.raw_rows,
    )


def test_generated_usage_is_conserved_per_file_and_matches_the_planted_truth(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    generate(
        data,
        customers=12,
        events=4000,
        start=dt.date(2026, 9, 20),
        days=14,
        seed=11,
        progress=False,
    )
    s = make_settings(data)
    ingest_reference(s)
    loads = ingest_usage(s)
    truth = json.loads((data / "generator_truth.json").read_text())["usage_files"]
    assert sorted(f.file_path for f in loads) == sorted(truth)
    for f in loads:
        _assert_counts_match_tables(s, f)
        planted = truth[f.file_path]
        assert (
            f.raw_rows,
            f.loaded_rows,
            f.duplicate_rows,
            f.quarantined_rows,
            f.conflict_rows,
        ) == (
            planted["raw_rows"],
            planted["loaded_rows"],
            planted["duplicate_rows"],
            planted["quarantined_rows"],
            planted["conflict_rows"],
        ), f.file_path
        assert f.quarantine_reasons == planted["malformed_rows"], f.file_path
    # every planted reason code occurs, and the generator plants (at least) these
    reasons = {r for f in loads for r in f.quarantine_reasons}
    assert reasons == {r for p in truth.values() for r, n in p["malformed_rows"].items() if n}
    assert reasons >= {
        "unparseable",
        "missing_id",
        "missing_subject",
        "missing_time",
        "invalid_time",
        "negative_quantity",
        "future_time",
        "unknown_customer",
        "unknown_event_type",
    }


_FAULTS = [
    "ok",
    "ok",
    "ok",
    "dup",
    "conflict",
    "bad_json",
    "no_id",
    "no_subject",
    "no_time",
    "bad_time",
    "bad_qty",
    "neg_qty",
    "future",
    "ghost",
    "weird_type",
    "blank",
]


def _line(fault: str, i: int, key: int) -> dict[str, Any] | str:
    eid = f"e{key}"
    if fault in ("ok", "dup"):
        return event(eid, input_tokens=key, model="m")
    if fault == "conflict":
        return event(eid, input_tokens=key + 1, model="m")
    if fault == "bad_json":
        return '{"id": "cut'
    if fault == "blank":
        return "   "
    bad: dict[str, Any] = {
        "no_id": {"eid": ""},
        "no_subject": {"subject": ""},
        "no_time": {"time": ""},
        "bad_time": {"time": "yesterday"},
        "future": {"time": "2026-10-09T00:00:00Z"},
        "ghost": {"subject": "cus_ghost"},
        "weird_type": {"etype": "x.y"},
    }.get(fault, {})
    data = (
        {"input_tokens": "x"}
        if fault == "bad_qty"
        else {"output_tokens": -1}
        if fault == "neg_qty"
        else {"input_tokens": 1}
    )
    return event(bad.pop("eid", f"f{i}"), **bad, **data)


@pytest.fixture(scope="module")
def loaded_reference(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data = tmp_path_factory.mktemp("conservation") / "data"
    data.mkdir()
    s = make_settings(data)
    write_reference(s)
    ingest_reference(s)
    return s


_counter = itertools.count()


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(st.sampled_from(_FAULTS), st.integers(0, 5)), max_size=40))
def test_random_usage_files_are_conserved(
    loaded_reference: Settings, lines: list[tuple[str, int]]
) -> None:
    s = loaded_reference
    n = next(_counter)
    path = s.raw_dir / "usage" / f"random_{n:03d}_2026-10-04.jsonl"
    body = [_line(fault, i, key) for i, (fault, key) in enumerate(lines)]
    write_jsonl(path, body)
    (f,) = [x for x in ingest_usage(s) if x.file_path.endswith(path.name)]
    expected_raw = sum(1 for fault, _ in lines if fault != "blank")
    assert f.raw_rows == expected_raw
    _assert_counts_match_tables(s, f)
    faulty = {
        "bad_json",
        "no_id",
        "no_subject",
        "no_time",
        "bad_time",
        "bad_qty",
        "neg_qty",
        "future",
        "ghost",
        "weird_type",
    }
    assert f.quarantined_rows == sum(1 for fault, _ in lines if fault in faulty)
