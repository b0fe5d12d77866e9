"""Batch summaries: the loader's arithmetic per ingest call, and the blocking ``rows_conserved``
check's SQL over ``raw.load_manifest`` (negative counts, raw = loaded + duplicates + quarantined,
conflicts <= duplicates). Neither imports Great Expectations: a run with new usage files and
unchanged reference files does not need it (issue 16)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from orchestration.config import Settings
from orchestration.defs.quality.checks import CONSERVATION_SQL
from orchestration.ingest import ingest_reference, ingest_usage
from orchestration.quality.batch_summary import batch_summary_problems
from orchestration.warehouse import connect
from tests.support.ingest import event, write_jsonl, write_reference

GOOD = {
    "file_path": "raw/usage/events_2026-10-03.jsonl",
    "batch_id": 7,
    "raw_rows": 10,
    "loaded_rows": 6,
    "duplicate_rows": 3,
    "quarantined_rows": 1,
    "conflict_rows": 1,
}


def test_summaries_that_add_up_have_no_problem() -> None:
    assert batch_summary_problems([GOOD, {**GOOD, "batch_id": 8, "file_path": "b"}]) == []
    assert batch_summary_problems([]) == []


def test_each_broken_rule_names_the_file_the_batch_and_the_counts() -> None:
    cases = {
        "raw_rows <> loaded + duplicates + quarantined": {**GOOD, "raw_rows": 11},
        "conflict_rows > duplicate_rows": {**GOOD, "conflict_rows": 4},
        "quarantined_rows is negative": {**GOOD, "quarantined_rows": -1, "loaded_rows": 8},
    }
    for rule, summary in cases.items():
        (problem,) = batch_summary_problems([summary])
        assert problem.startswith("raw/usage/events_2026-10-03.jsonl (batch 7): " + rule)
        assert f"raw_rows={summary['raw_rows']}" in problem
    (dup,) = batch_summary_problems([GOOD, {**GOOD, "file_path": "other"}])
    assert dup.startswith("other (batch 7): batch_id is not unique")


def _problems(s: Settings) -> list[tuple[int, str, str]]:
    with connect(s.warehouse, read_only=True) as con:
        return con.execute(CONSERVATION_SQL).fetchall()


@pytest.fixture
def s(tmp_settings: Settings) -> Settings:
    write_reference(tmp_settings)
    ingest_reference(tmp_settings)
    return tmp_settings


def test_rows_conserved_finds_each_broken_count_in_the_stored_manifest(s: Settings) -> None:
    usage = s.data_dir / "raw" / "usage"
    write_jsonl(
        usage / "events_2026-10-03.jsonl",
        [event("e1", input_tokens=5), event("e2", input_tokens=7), event("e1", input_tokens=5)],
    )
    (load,) = ingest_usage(s)
    assert (load.raw_rows, load.loaded_rows, load.duplicate_rows) == (3, 2, 1)
    assert _problems(s) == []
    path = load.file_path
    for change, problem in [
        ("conflict_rows = duplicate_rows + 1", "conflict_rows > duplicate_rows"),
        ("raw_rows = raw_rows + 1", "raw_rows <> loaded + duplicate + quarantined"),
        # still adds up, but a count is negative
        ("quarantined_rows = -1, loaded_rows = loaded_rows + 1", "a negative count"),
    ]:
        with connect(s.warehouse) as con:
            con.execute("create or replace temp table keep as select * from raw.load_manifest")
            con.execute(
                f"update raw.load_manifest set {change} where batch_id = ?", [load.batch_id]
            )
            found = con.execute(CONSERVATION_SQL).fetchall()
            con.execute("delete from raw.load_manifest")
            con.execute("insert into raw.load_manifest select * from keep")
        assert found == [(load.batch_id, path, problem)], change
    assert _problems(s) == []


def test_ingesting_usage_does_not_import_great_expectations(s: Settings) -> None:
    """The reference files are loaded (and validated with GE) already; a new usage file is not."""
    write_jsonl(
        s.data_dir / "raw" / "usage" / "events_2026-10-03.jsonl", [event("e1", input_tokens=5)]
    )
    code = textwrap.dedent(
        f"""
        import sys
        from orchestration.config import settings
        from orchestration.ingest import ingest_reference, ingest_usage
        (load,) = ingest_usage(settings({str(s.data_dir)!r}))
        assert load.loaded_rows == 1, load
        print(sorted(m for m in sys.modules if m.split(".")[0] == "great_expectations")[:3])
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert out.stdout.strip() == "[]", out.stdout


def test_a_file_whose_counts_do_not_add_up_leaves_nothing_behind(s: Settings) -> None:
    """The loader checks the batch summary's rules before the file's transaction commits."""
    from orchestration.ingest.loader import load_files
    from orchestration.ingest.manifest import Counts, RawFile
    from orchestration.ingest.results import IngestError

    path = s.data_dir / "raw" / "usage" / "events_2026-10-05.jsonl"
    write_jsonl(path, [event("e9", input_tokens=5)])
    raw = RawFile(path, "raw/usage/events_2026-10-05.jsonl", "0" * 64, "jsonl")

    def loader(con: object, f: RawFile, batch_id: int, arrival: object) -> tuple:
        # a loader that claims more conflicts than duplicates
        return "usage_events", Counts(1, 1, 0, 0, 1), False

    with connect(s.warehouse) as con:
        before = con.execute("select count(*) from raw.load_manifest").fetchone()
        with pytest.raises(IngestError) as err:
            load_files(con, "usage", [raw], loader, "usage_events")  # type: ignore[arg-type]
        after = con.execute("select count(*) from raw.load_manifest").fetchone()
    assert "raw/usage/events_2026-10-05.jsonl" in str(err.value)
    assert "conflict_rows > duplicate_rows" in str(err.value)
    assert "nothing loaded" in str(err.value)
    assert after == before
