"""The benchmark at a tiny size: it runs end to end (generate, full run, floor, incremental day),
prints the table and ``ratio_to_floor=<x>`` last, and writes its JSON. Its counts are checked
against the generator's truth; no time is asserted (timings belong to `make bench`)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import duckdb
import pytest

from meterline_dev import bench


def test_split_and_restore_holdout(tmp_path: Path) -> None:
    usage = tmp_path / "data" / "raw" / "usage"
    usage.mkdir(parents=True)
    names = [
        "events_2026-10-13.parquet",
        "events_2026-10-14.parquet",
        "events_2026-11-01_late.jsonl",
        "notes.txt",
    ]
    for n in names:
        (usage / n).write_text(n)
    held = bench.split_holdout(tmp_path / "data", tmp_path / "hold", dt.date(2026, 10, 14))
    assert held == ["events_2026-10-14.parquet", "events_2026-11-01_late.jsonl"]
    assert sorted(p.name for p in usage.iterdir()) == ["events_2026-10-13.parquet", "notes.txt"]
    assert bench.restore_holdout(tmp_path / "data", tmp_path / "hold") == held
    assert sorted(p.name for p in usage.iterdir()) == sorted(names)


def test_measure_sees_child_tree_memory_and_exit_code(tmp_path: Path) -> None:
    # a grandchild holding ~200 MB: the peak must count it, the exit code must come through
    code = (
        "import subprocess, sys; subprocess.run([sys.executable, '-c', "
        "'b = bytearray(200 * 1024 * 1024); import time; time.sleep(0.5)']); sys.exit(3)"
    )
    m = bench.measure([sys.executable, "-c", code])
    assert m.returncode == 3
    assert m.peak_rss_bytes >= 200 * 1024 * 1024
    assert m.cpu_seconds > 0


def write_events(tmp_path: Path) -> Path:
    """Four raw rows: one repeat of (source, id), three events, two customer x model x day."""
    f = tmp_path / "events_2026-10-01.parquet"
    duckdb.sql(
        """
        copy (select * from (values
            ('a', 'g1', 'cus_1', 'm1', '2026-10-01T23:59:59.000Z', 10, 1, 0, 5),
            ('a', 'g1', 'cus_1', 'm1', '2026-10-01T23:59:59.000Z', 10, 1, 0, 5),
            ('a', 'g2', 'cus_1', 'm1', '2026-10-01T00:00:00.000Z', 7, 0, 2, 3),
            ('b', 'g2', 'cus_1', 'm1', '2026-10-02T00:00:00.000Z', 1, 0, 0, 1)
        ) t(id, source, subject, model, time, input_tokens, cached_input_tokens,
            cache_write_tokens, output_tokens)) to '"""
        + str(f)
        + "' (format parquet)"
    )
    data = tmp_path / "data"
    (data / "raw" / "usage").mkdir(parents=True)
    f.rename(data / "raw" / "usage" / f.name)
    return data


def test_floor_query_dedupes_and_sums(tmp_path: Path) -> None:
    data = write_events(tmp_path)
    phase = bench.run_floor(data, tmp_path, "1GB", runs=3)
    assert phase.detail["raw_rows"] == 4
    assert phase.detail["deduped_events"] == 3
    assert phase.detail["groups"] == 2
    # three runs, each measured; the floor is the run of median wall time
    runs = phase.detail["runs"]
    assert len(runs) == 3
    assert phase.seconds == sorted(r["seconds"] for r in runs)[1]
    assert all(r["cpu_seconds"] > 0 and r["query_seconds"] > 0 for r in runs)
    assert all(r["store_seconds"] == 0 for r in runs)  # the floor persists nothing first


def test_store_floor_persists_the_raw_rows_then_queries_them(tmp_path: Path) -> None:
    data = write_events(tmp_path)
    phase = bench.run_floor(data, tmp_path, "1GB", runs=1, mode="store")
    assert phase.name == "store_floor"
    # the same answer as the floor, counted over the persisted table (all 4 raw rows kept)
    assert phase.detail["raw_rows"] == 4
    assert phase.detail["deduped_events"] == 3
    assert phase.detail["groups"] == 2
    assert 0 < phase.detail["store_seconds"] <= phase.detail["query_seconds"]
    assert len(phase.detail["runs"]) == 1
    assert phase.seconds == phase.detail["runs"][0]["seconds"]
    assert not (tmp_path / "store.duckdb").exists()  # its database is removed after the run


def test_bench_tiny_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = bench.run_bench(
        events=3000,
        days=13,
        customers=8,
        work_dir=tmp_path / "work",
        results_dir=tmp_path / "results",
    )
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == f"ratio_to_floor={result['ratio_to_floor']}"
    assert out[-2] == f"ratio_to_store_floor={result['ratio_to_store_floor']}"
    assert result["ratio_to_floor"] > 0

    stored = json.loads(Path(result["results_file"]).read_text(encoding="utf-8"))
    assert stored["ratio_to_floor"] == result["ratio_to_floor"]
    assert len(stored["floor"]["detail"]["runs"]) == bench.DEFAULT_FLOOR_RUNS
    assert stored["ratio_to_floor"] == round(
        stored["full"]["seconds"] / stored["floor"]["seconds"], 3
    )
    assert stored["ratio_to_store_floor"] == round(
        stored["full"]["seconds"] / stored["store_floor"]["seconds"], 3
    )
    assert len(stored["store_floor"]["detail"]["runs"]) == bench.DEFAULT_FLOOR_RUNS
    # persisting the raw rows kept every raw row the floor read
    assert stored["store_floor"]["detail"]["raw_rows"] == stored["raw_rows_full"]
    assert stored["store_floor"]["detail"]["groups"] == stored["floor"]["detail"]["groups"]
    assert stored["store_floor"]["detail"]["store_seconds"] > 0
    assert any(line.startswith("store floor (persist+query)") for line in out)
    for stage in (
        "ingest",
        "checks",
        "dbt staging+dedupe",
        "rating",
        "invoices",
        "costs and margin",
        "publish",
    ):
        assert stage in stored["full"]["stages"], stage
        assert stage in stored["incremental"]["stages"], stage
    # nothing new: the run verified its inputs and stopped
    assert list(stored["no_new_data"]["stages"]) == ["verify inputs"]
    assert stored["full"]["peak_rss_bytes"] > 50 * 1024 * 1024
    # the new day's own cost: the incremental run minus a run with nothing new to load
    assert stored["incremental_marginal_seconds"] == round(
        stored["incremental"]["seconds"] - stored["no_new_data"]["seconds"], 3
    )
    assert f"marginal_to_full={stored['marginal_to_full']}" in out
    assert any(line.startswith("no new data (total)") for line in out)
    # the pricing lab: one scenario over the bench's month, beside the full run's rating stage
    sc = stored["scenario"]
    assert sc["detail"]["scenario"] == bench.BENCH_SCENARIO
    assert sc["detail"]["month"] == "2026-10"
    assert sc["detail"]["scenarios"] == [bench.BENCH_SCENARIO]
    assert set(sc["stages"]) == {
        "inputs fingerprint",
        "chain compile",
        "baseline re-rating",
        "scenario re-rating",
        "scenario marts",
    }
    assert sc["stages"]["scenario re-rating"] > 0
    assert sc["stages"]["baseline re-rating"] > 0  # no scenario before: the baseline too
    assert sc["stages"]["chain compile"] > 0  # dbt compiled the chain once for both
    # once more with nothing changed: neither is re-rated
    again = stored["scenario_again"]
    assert again["detail"]["reused"] == ["current", bench.BENCH_SCENARIO]
    assert again["stages"]["baseline re-rating"] == again["stages"]["scenario re-rating"] == 0
    assert again["stages"]["chain compile"] == 0  # nothing to re-rate, nothing compiled
    assert any(
        line.startswith("  kept (not re-rated): current, " + bench.BENCH_SCENARIO) for line in out
    )
    assert stored["scenario_to_rating"] == round(
        sc["stages"]["scenario re-rating"] / stored["full"]["stages"]["rating"], 3
    )
    assert any(line.startswith("scenario (total)") for line in out)
    assert any(
        line.startswith("scenario re-rating ")
        and f"scenario_to_rating={stored['scenario_to_rating']} (target <= 1)" in line
        for line in out
    )

    data = bench.data_dir_for(
        tmp_path / "work", events=3000, days=13, customers=8, seed=bench.DEFAULT_SEED
    )
    truth = json.loads((data / "generator_truth.json").read_text(encoding="utf-8"))
    held = set(stored["params"]["incremental_files"])
    assert "events_2026-10-14.parquet" in held
    full_files = {k: v for k, v in truth["usage_files"].items() if Path(k).name not in held}
    # the floor read exactly the raw rows of the full run's files
    assert stored["raw_rows_full"] == sum(v["raw_rows"] for v in full_files.values())
    # after the incremental run and the run with nothing new, the warehouse holds every file's
    # rows, none lost, none twice
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        loaded, dupes = con.execute(
            "select count(*) filter (not is_duplicate), count(*) filter (is_duplicate) "
            "from raw.usage_events"
        ).fetchone()  # type: ignore[misc]
        # the scenario re-rated the bench's month: its invoices (and the baseline's) are kept
        kept = con.execute(
            "select scenario, list(distinct period order by period), count(*) "
            "from scenarios.invoices group by scenario order by scenario"
        ).fetchall()
    assert [(k[0], k[1]) for k in kept] == [
        (bench.BENCH_SCENARIO, ["2026-10"]),
        ("current", ["2026-10"]),
    ]
    assert kept[0][2] == kept[1][2] > 0
    assert loaded == truth["totals"]["loaded_rows"]
    assert dupes == truth["totals"]["duplicate_rows"]
