"""`meterline bench`: the pipeline against the least any correct pipeline must do.

1. Generate ``days + 1`` days of Parquet usage (plus provider exports and reference files) into
   ``<work_dir>/data_<events>_<days>_<customers>_<seed>``; reused when its generator parameters
   match (generation is never timed). Usage files dated after the first ``days`` days (the extra
   day, and the late-arrivals file of a month that ends there) are held out.
2. **full**: ``meterline run`` on a fresh warehouse, in a child process: wall time, CPU time, peak
   RSS of the whole process tree (polled from /proc, and the kernel's max RSS of the child), and
   the per-stage wall times the pipeline records in ``<data_dir>/.meterline/last_run.json``.
3. **floor**: in a child process with the same DuckDB settings, one hand-written query over the
   same Parquet files: dedupe on (source, id), sum the token quantities per
   customer x model x UTC day into a table. It runs ``floor_runs`` times (default 3), each in a
   fresh process on a fresh database, and the run of median wall time is the floor: one run's
   wall time moved by up to 45% on the same data on this shared machine. Every run's times are
   kept in the JSON (``floor.detail.runs``).
   **store_floor**: the same, but first persisting the raw Parquet rows into a DuckDB table
   (committed), then the floor query over that table: a correct warehouse must at least keep the
   raw rows. ``ratio_to_store_floor`` = full pipeline wall / store floor wall.
4. **incremental**: the held-out files go back into ``raw/usage`` and ``meterline run`` runs again
   on the built warehouse.
5. **no new data**: ``meterline run`` once more, with nothing new to load: it verifies that (input
   hashes, dbt project and code fingerprint, outputs untouched) and stops. The incremental run
   minus it is ``incremental_marginal_seconds`` / ``marginal_to_full`` in the JSON.
6. **scenario** (pricing lab, issue 20): a scenario of the demo's ``flagship_output_cut`` shape
   (every plan's gpt-4o* output price -20%, every customer) over the bench's one month is
   written to ``reference/scenarios/`` and re-rated in a child process
   (``orchestration.scenarios.run_scenarios``, what ``meterline simulate`` runs): the
   scenario's re-rating, the baseline's (if it had to be re-rated) and the scenario marts,
   each timed; ``scenario_to_rating`` = the scenario's re-rating / the full run's ``rating``
   stage (the target: <= 1). Then the same child once more with nothing changed
   (``scenario_again``): the baseline and the scenario are not re-rated (their inputs'
   fingerprint is unchanged), what is left is the fingerprint and the scenario marts.

Prints a table, ends with ``ratio_to_store_floor=<x>`` then ``ratio_to_floor=<x>`` (full pipeline
wall / floor wall), and writes the figures as JSON under ``bench/results/`` (git-ignored). No
assertion on time anywhere: this is a measurement, not a test.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from orchestration.config import REPO_ROOT

DEFAULT_START = dt.date(2026, 10, 1)
DEFAULT_SEED = 20261001
DEFAULT_MEMORY_LIMIT = "4GB"
RESULTS_DIR = REPO_ROOT / "bench" / "results"
POLL_SECONDS = 0.1
MIN_DAYS = 13
DEFAULT_FLOOR_RUNS = 3

FLOOR_SQL = """
create or replace table floor_usage_daily as
with events as (
    select source, id, subject, model, time,
        input_tokens, cached_input_tokens, cache_write_tokens, output_tokens,
    from {source}
),
deduped as (
    -- min, not any_value: a redelivered id whose copies differ must fall in the same group
    -- whatever order the rows are read in (Parquet files or the stored table)
    select
        min(subject) as customer_id,
        min(model) as model,
        min(time) as event_time,
        min(input_tokens) as input_tokens,
        min(cached_input_tokens) as cached_input_tokens,
        min(cache_write_tokens) as cache_write_tokens,
        min(output_tokens) as output_tokens,
    from events
    group by source, id
),
final as (
    select
        customer_id,
        model,
        cast(try_cast(event_time as timestamptz) as date) as usage_date,
        count(*) as events,
        sum(input_tokens) as input_tokens,
        sum(cached_input_tokens) as cached_input_tokens,
        sum(cache_write_tokens) as cache_write_tokens,
        sum(output_tokens) as output_tokens,
    from deduped
    group by all
)
select * from final
"""


@dataclass
class Measured:
    """One child process: wall and CPU seconds, peak RSS of its process tree (bytes)."""

    seconds: float
    cpu_seconds: float
    peak_rss_bytes: int
    returncode: int
    output: str = ""


@dataclass
class Phase:
    name: str
    seconds: float
    cpu_seconds: float
    peak_rss_bytes: int
    stages: dict[str, float] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)


class BenchError(RuntimeError):
    pass


# ---------------------------------------------------------------- process-tree measurement


def _tree_pids(root: int) -> list[int]:
    """``root`` and every descendant (Linux /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(parents.get(pid, []))
    return out


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def tree_rss_bytes(root: int) -> int:
    return sum(_rss_bytes(pid) for pid in _tree_pids(root))


def measure(
    cmd: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None
) -> Measured:
    """Run ``cmd`` to completion; its wall time, CPU time (the child and its waited-for
    descendants) and peak RSS: the larger of the polled sum over its process tree and the
    kernel's max RSS of any single process in it."""
    log = _capture_file()
    started = time.perf_counter()
    proc = subprocess.Popen(list(cmd), env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    peak = 0
    done = threading.Event()

    def poll() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_bytes(proc.pid))
            done.wait(POLL_SECONDS)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    done.set()
    poller.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    log.seek(0)
    output = log.read().decode("utf-8", errors="replace")
    log.close()
    peak = max(peak, usage.ru_maxrss * 1024)
    cpu = usage.ru_utime + usage.ru_stime
    return Measured(
        seconds=round(seconds, 3),
        cpu_seconds=round(cpu, 3),
        peak_rss_bytes=peak,
        returncode=proc.returncode,
        output=output,
    )


def _capture_file() -> Any:
    import tempfile

    return tempfile.TemporaryFile()


# ---------------------------------------------------------------- data


def data_dir_for(work_dir: Path, *, events: int, days: int, customers: int, seed: int) -> Path:
    return work_dir / f"data_{events}_{days}_{customers}_{seed}"


def generated_events(events: int, days: int) -> int:
    """Events to generate over ``days + 1`` days so that the first ``days`` hold ~``events``."""
    return events * (days + 1) // days


def ensure_data(
    data: Path,
    *,
    events: int,
    days: int,
    customers: int,
    seed: int,
    start: dt.date,
    echo: Callable[[str], None],
) -> None:
    """Generate the benchmark data unless ``data`` already holds it (same generator params)."""
    params = {
        "customers": customers,
        "events": generated_events(events, days),
        "start": start.isoformat(),
        "days": days + 1,
        "seed": seed,
        "usage_format": "parquet",
    }
    truth = data / "generator_truth.json"
    if truth.exists():
        try:
            if json.loads(truth.read_text(encoding="utf-8")).get("params") == params:
                echo(f"reusing generated data in {data}")
                return
        except ValueError:
            pass
    if data.exists():
        shutil.rmtree(data)
    from meterline_dev.generator import generate

    t0 = time.perf_counter()
    report = generate(
        data,
        customers=customers,
        events=params["events"],
        start=start,
        days=days + 1,
        seed=seed,
        usage_format="parquet",
        progress=False,
    )
    echo(report)
    echo(f"(generation {time.perf_counter() - t0:.1f}s, not timed)")


def _file_date(path: Path) -> dt.date | None:
    for part in reversed(path.stem.split("_")):
        try:
            return dt.date.fromisoformat(part)
        except ValueError:
            continue
    return None


def split_holdout(data: Path, holdout: Path, cutoff: dt.date) -> list[str]:
    """Move usage files dated on or after ``cutoff`` from ``raw/usage`` to ``holdout``."""
    holdout.mkdir(parents=True, exist_ok=True)
    moved = []
    for f in sorted((data / "raw" / "usage").iterdir()):
        d = _file_date(f)
        if d is not None and d >= cutoff:
            shutil.move(str(f), holdout / f.name)
            moved.append(f.name)
    return moved


def restore_holdout(data: Path, holdout: Path) -> list[str]:
    moved = []
    if holdout.exists():
        for f in sorted(holdout.iterdir()):
            shutil.move(str(f), data / "raw" / "usage" / f.name)
            moved.append(f.name)
    return moved


def reset_warehouse(data: Path) -> None:
    """Remove every build product so that the full run starts from nothing."""
    for name in ("warehouse.duckdb", "warehouse.duckdb.wal", "warehouse.duckdb.tmp"):
        p = data / name
        if p.is_dir():
            shutil.rmtree(p)
        else:
            p.unlink(missing_ok=True)
    for sub in (".meterline", "published", "exports", "duckdb_tmp", "lake", "spark"):
        shutil.rmtree(data / sub, ignore_errors=True)


# ---------------------------------------------------------------- the three measurements


def bench_env(data: Path, memory_limit: str, engine: str = "duckdb") -> dict[str, str]:
    env = dict(os.environ)
    env["METERLINE_ENGINE"] = engine
    env["METERLINE_DATA_DIR"] = str(data)
    env.pop("METERLINE_WAREHOUSE", None)
    env["METERLINE_DUCKDB_MEMORY_LIMIT"] = memory_limit
    temp = data / "duckdb_tmp"
    temp.mkdir(parents=True, exist_ok=True)
    env["METERLINE_DUCKDB_TEMP_DIRECTORY"] = str(temp)
    return env


def code_snapshot(work: Path) -> Path:
    """The committed code (git HEAD) extracted under ``work``: the bench measures a commit, not a
    work tree that other people are editing while it runs (a model or test added mid-run breaks
    dbt's manifest). Falls back to the live tree when git is unavailable."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, check=True, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return REPO_ROOT
    src = work / f"src_{commit[:12]}"
    if not (src / "orchestration" / "cli.py").exists():
        tmp = work / f".src_{commit[:12]}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "archive", commit], cwd=REPO_ROOT, check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
        # `@dbt_assets` reads target/manifest.json at import (what `make manifest` does)
        project = tmp / "dbt_project"
        env = {**os.environ, "METERLINE_WAREHOUSE": str(work / "parse.duckdb")}
        parsed = subprocess.run(
            [
                str(Path(sys.executable).with_name("dbt")),
                "parse",
                "--quiet",
                "--project-dir",
                str(project),
                "--profiles-dir",
                str(project),
            ],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
        )
        if parsed.returncode != 0:
            raise BenchError(f"dbt parse of the snapshot failed:\n{parsed.stdout[-4000:]}")
        (work / "parse.duckdb").unlink(missing_ok=True)
        # bytecode for the snapshot's own modules (the environment's come compiled from
        # `make install`): with PYTHONDONTWRITEBYTECODE set, each run would compile them again
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", "-s", str(tmp), "-p", str(src)]
            + [str(tmp / d) for d in ("orchestration", "dashboards") if (tmp / d).is_dir()],
            check=True,
            capture_output=True,
        )
        tmp.rename(src)
    return src


def prime_parse(code: Path, env: dict[str, str]) -> None:
    """The project parse that installing meterline does (`make manifest`), under the bench's
    settings (its DuckDB memory limit is one of the profile's values dbt keys a parse on): the
    measured full run is a new data directory's first run on an installed system, which starts
    from that parse (project_parse.parse_project). Not measured."""
    proc = subprocess.run(
        [sys.executable, "-m", "orchestration.project_parse"],
        env={**env, "PYTHONPATH": str(code)},
        cwd=code,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise BenchError(
            f"parse of the project failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )


def run_pipeline_measured(
    data: Path, env: dict[str, str], name: str, code: Path = REPO_ROOT
) -> Phase:
    cmd = [
        sys.executable,
        "-c",
        "from orchestration.cli import main; main()",
        "run",
        "--quiet",
        "--data-dir",
        str(data),
    ]
    env = {**env, "PYTHONPATH": str(code)}
    m = measure(cmd, env=env, cwd=code)
    log_path = data / ".meterline" / "last_run.json"
    log = json.loads(log_path.read_text(encoding="utf-8")) if log_path.exists() else {}
    if m.returncode != 0 or log.get("status") != "succeeded":
        raise BenchError(
            f"{name} pipeline run failed (exit {m.returncode}, "
            f"status {log.get('status')}):\n{log.get('error') or ''}\n"
            f"{m.output[-6000:]}"
        )
    stages = {st["name"]: float(st["seconds"]) for st in log.get("stages", [])}
    return Phase(
        name,
        m.seconds,
        m.cpu_seconds,
        m.peak_rss_bytes,
        stages,
        detail=dbt_node_times(data / ".meterline" / "dbt_target" / "run_results.json"),
    )


def dbt_node_times(path: Path, top: int = 8) -> dict[str, Any]:
    """Where dbt's time went: the slowest nodes, and node count / seconds per resource type."""
    if not path.exists():
        return {}
    results = json.loads(path.read_text(encoding="utf-8")).get("results", [])
    by_type: dict[str, list[float]] = {}
    for r in results:
        kind = str(r.get("unique_id", "?")).split(".")[0]
        acc = by_type.setdefault(kind, [0, 0.0])
        acc[0] += 1
        acc[1] += float(r.get("execution_time") or 0.0)
    slowest = sorted(results, key=lambda r: -float(r.get("execution_time") or 0.0))[:top]
    return {
        "dbt_by_type": {
            k: {"nodes": int(v[0]), "seconds": round(v[1], 2)} for k, v in sorted(by_type.items())
        },
        "dbt_slowest": [
            {"node": r.get("unique_id"), "seconds": round(float(r.get("execution_time") or 0.0), 2)}
            for r in slowest
        ],
    }


BENCH_SCENARIO = "bench_flagship_output_cut"


def write_bench_scenario(data: Path, month: str) -> str:
    """reference/scenarios/<BENCH_SCENARIO>.yml: the demo's flagship output cut over ``month``
    (YYYY-MM) for every customer, on the generator's plans (those of the bench data)."""
    from meterline_dev.generator.pricing_lab import write_flagship_output_cut
    from meterline_dev.generator.reference import plans

    root = data / "reference" / "scenarios"
    shutil.rmtree(root, ignore_errors=True)
    write_flagship_output_cut(
        data / "reference", plans(), {"from": month, "to": month}, BENCH_SCENARIO
    )
    return BENCH_SCENARIO


# the child process (it imports the measured snapshot's code): re-rates the scenario (and the
# baseline when it must be), builds the scenario marts, prints the timings as one JSON line
SCENARIO_CHILD = (
    "import dataclasses, json, sys\n"
    "from orchestration.config import settings\n"
    "from orchestration.scenarios import run_scenarios\n"
    "run = run_scenarios(settings(sys.argv[1]), only=[sys.argv[2]])\n"
    "print(json.dumps(dataclasses.asdict(run)))\n"
)


def _scenario_child_measured(
    data: Path, env: dict[str, str], scenario: str, month: str, code: Path, name: str
) -> Phase:
    m = measure(
        [sys.executable, "-c", SCENARIO_CHILD, str(data), scenario],
        env={**env, "PYTHONPATH": str(code)},
        cwd=code,
    )
    if m.returncode != 0:
        raise BenchError(f"{name} run failed (exit {m.returncode}):\n{m.output[-6000:]}")
    run = json.loads(m.output.strip().splitlines()[-1])
    stages = {
        "inputs fingerprint": float(run.get("fingerprint_seconds", 0.0)),
        "chain compile": float(run.get("compile_seconds", 0.0)),
        "baseline re-rating": float(run["seconds"].get("current", 0.0)),
        "scenario re-rating": float(run["seconds"].get(scenario, 0.0)),
        "scenario marts": float(run["marts_seconds"]),
    }
    detail = {"scenario": scenario, "month": month, **run}
    return Phase(name, m.seconds, m.cpu_seconds, m.peak_rss_bytes, stages, detail)


def run_scenario_measured(
    data: Path, env: dict[str, str], month: str, code: Path
) -> tuple[Phase, Phase]:
    """The bench scenario re-rated (with the baseline when it must be), then once more with
    nothing changed."""
    scenario = write_bench_scenario(data, month)
    first = _scenario_child_measured(data, env, scenario, month, code, "scenario")
    again = _scenario_child_measured(data, env, scenario, month, code, "scenario_again")
    return first, again


STORE_SQL = "create or replace table raw_usage as select * from {source}"


def floor_child(argv: Sequence[str]) -> None:
    """Child process entry: ``<mode> <db> <memory_limit> <temp_dir> <file>...``; prints one JSON
    line. ``floor``: the floor query over the Parquet files. ``store``: first persist the raw
    Parquet rows into a DuckDB table (``raw_usage``, committed), then the floor query over that
    table (the least a correct warehouse does: it must keep the raw rows)."""
    import duckdb

    mode, db, memory_limit, temp_dir, *files = argv
    con = duckdb.connect(db, config={"memory_limit": memory_limit, "temp_directory": temp_dir})
    try:
        con.execute("set TimeZone = 'UTC'")
        file_list = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
        parquet = f"read_parquet({file_list}, union_by_name = true)"
        t0 = time.perf_counter()
        store_seconds = 0.0
        source = parquet
        if mode == "store":
            con.execute(STORE_SQL.format(source=parquet))
            con.execute("checkpoint")
            store_seconds = time.perf_counter() - t0
            source = "raw_usage"
        con.execute(FLOOR_SQL.format(source=source))
        seconds = time.perf_counter() - t0
        row = con.execute("select count(*), sum(events) from floor_usage_daily").fetchone()
        raw = con.execute(f"select count(*) from {source}").fetchone()
    finally:
        con.close()
    assert row is not None and raw is not None
    print(
        json.dumps(
            {
                "query_seconds": round(seconds, 3),
                "store_seconds": round(store_seconds, 3),
                "groups": int(row[0]),
                "deduped_events": int(row[1] or 0),
                "raw_rows": int(raw[0]),
            }
        )
    )


def run_floor_once(files: list[str], work: Path, memory_limit: str, mode: str = "floor") -> Phase:
    db = work / f"{mode}.duckdb"
    for p in (db, db.with_name(db.name + ".wal")):
        p.unlink(missing_ok=True)
    temp = work / "floor_tmp"
    temp.mkdir(parents=True, exist_ok=True)
    code = "import sys; from meterline_dev.bench import floor_child; floor_child(sys.argv[1:])"
    m = measure(
        [sys.executable, "-c", code, mode, str(db), memory_limit, str(temp), *files],
        cwd=REPO_ROOT,
    )
    if m.returncode != 0:
        raise BenchError(f"{mode} query failed (exit {m.returncode}):\n{m.output[-4000:]}")
    detail = json.loads(m.output.strip().splitlines()[-1])
    for p in (db, db.with_name(db.name + ".wal")):
        p.unlink(missing_ok=True)
    name = "floor" if mode == "floor" else "store_floor"
    return Phase(name, m.seconds, m.cpu_seconds, m.peak_rss_bytes, detail=detail)


def run_floor(
    data: Path,
    work: Path,
    memory_limit: str,
    runs: int = DEFAULT_FLOOR_RUNS,
    mode: str = "floor",
) -> Phase:
    """The floor query (``mode`` ``floor``) or the store floor (``store``: persist the raw rows,
    then the query over the table) ``runs`` times; the run of median wall time, with every run's
    wall / CPU / query seconds in ``detail["runs"]`` (in the order they ran)."""
    if runs < 1:
        raise ValueError("the floor needs at least one run")
    files = sorted(str(p) for p in (data / "raw" / "usage").glob("*.parquet"))
    if not files:
        raise BenchError(f"no Parquet usage files in {data / 'raw' / 'usage'}")
    phases = [run_floor_once(files, work, memory_limit, mode) for _ in range(runs)]
    median = sorted(phases, key=lambda ph: ph.seconds)[(runs - 1) // 2]
    detail = dict(median.detail)
    detail["runs"] = [
        {
            "seconds": ph.seconds,
            "cpu_seconds": ph.cpu_seconds,
            "query_seconds": ph.detail["query_seconds"],
            "store_seconds": ph.detail["store_seconds"],
        }
        for ph in phases
    ]
    return Phase(
        median.name, median.seconds, median.cpu_seconds, median.peak_rss_bytes, detail=detail
    )


# ---------------------------------------------------------------- report


def _ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b > 0 else float("inf")


def _gb(n: int) -> str:
    return f"{n / 1024**3:.2f} GB"


def format_table(result: dict[str, Any]) -> str:
    full, floor, inc = result["full"], result["floor"], result["incremental"]
    same = result.get("no_new_data")
    lines = [
        f"meterline bench: {result['params']['events']:,} events requested, "
        f"{result['raw_rows_full']:,} raw rows in the full run, "
        f"{result['params']['days']} days + 1 incremental day, "
        f"{result['params']['customers']} customers",
        f"machine: {result['machine']['cpus']} CPUs, load average before "
        f"{result['machine']['load_before']}, after {result['machine']['load_after']}; "
        f"DuckDB memory_limit {result['params']['memory_limit']}",
        "",
        f"{'phase / stage':<28}{'wall s':>10}{'cpu s':>10}{'peak RSS':>12}",
        f"{'-' * 60}",
    ]
    for name, secs in full["stages"].items():
        lines.append(f"  {name:<26}{secs:>10.2f}")
    lines += [
        f"{'full pipeline (total)':<28}{full['seconds']:>10.2f}{full['cpu_seconds']:>10.2f}"
        f"{_gb(full['peak_rss_bytes']):>12}",
        f"{'  events/s':<28}{result['events_per_second']:>10,.0f}",
        f"{'floor (one DuckDB query)':<28}{floor['seconds']:>10.2f}{floor['cpu_seconds']:>10.2f}"
        f"{_gb(floor['peak_rss_bytes']):>12}",
        f"{'  floor query only':<28}{floor['detail']['query_seconds']:>10.2f}",
    ]
    runs = floor["detail"].get("runs", [])
    if len(runs) > 1:
        lines.append(
            f"  floor: median of {len(runs)} runs, wall s "
            + " / ".join(f"{r['seconds']:.2f}" for r in runs)
        )
    store = result.get("store_floor")
    if store:
        lines += [
            f"{'store floor (persist+query)':<28}{store['seconds']:>10.2f}"
            f"{store['cpu_seconds']:>10.2f}{_gb(store['peak_rss_bytes']):>12}",
            f"{'  persist raw rows':<28}{store['detail']['store_seconds']:>10.2f}",
            f"{'  persist + floor query':<28}{store['detail']['query_seconds']:>10.2f}",
        ]
    for name, secs in inc["stages"].items():
        lines.append(f"  {'inc ' + name:<26}{secs:>10.2f}")
    lines += [
        f"{'incremental day (total)':<28}{inc['seconds']:>10.2f}{inc['cpu_seconds']:>10.2f}"
        f"{_gb(inc['peak_rss_bytes']):>12}",
    ]
    if same:
        lines += [
            f"{'no new data (total)':<28}{same['seconds']:>10.2f}{same['cpu_seconds']:>10.2f}"
            f"{_gb(same['peak_rss_bytes']):>12}",
            f"{'  incremental minus that':<28}{result['incremental_marginal_seconds']:>10.2f}",
        ]
    scenario = result.get("scenario")
    if scenario:
        lines.append(
            f"scenario {scenario['detail']['scenario']} ({scenario['detail']['month']}, "
            "all customers):"
        )
        for name, secs in scenario["stages"].items():
            lines.append(f"  {name:<26}{secs:>10.2f}")
        lines += [
            f"{'scenario (total)':<28}{scenario['seconds']:>10.2f}"
            f"{scenario['cpu_seconds']:>10.2f}{_gb(scenario['peak_rss_bytes']):>12}",
            f"scenario re-rating {scenario['stages']['scenario re-rating']:.2f} s vs full run "
            f"rating stage {full['stages'].get('rating', 0.0):.2f} s: "
            f"scenario_to_rating={result['scenario_to_rating']} (target <= 1); baseline "
            f"re-rating {scenario['stages']['baseline re-rating']:.2f} s (separately)",
        ]
    again = result.get("scenario_again")
    if again:
        kept = ", ".join(again["detail"].get("reused") or []) or "none"
        lines += [
            f"{'scenario again, unchanged':<28}{again['seconds']:>10.2f}"
            f"{again['cpu_seconds']:>10.2f}{_gb(again['peak_rss_bytes']):>12}",
            f"  kept (not re-rated): {kept}; inputs fingerprint "
            f"{again['stages']['inputs fingerprint']:.2f} s, re-rating "
            f"{again['stages']['baseline re-rating'] + again['stages']['scenario re-rating']:.2f}"
            f" s, scenario marts {again['stages']['scenario marts']:.2f} s",
        ]
    lines.append("")
    for label, phase in (("full", full), ("incremental", inc)):
        slow = phase["detail"].get("dbt_slowest", [])
        if slow:
            lines.append(
                f"slowest dbt nodes ({label} run, thread seconds): "
                + ", ".join(
                    f"{str(x['node']).split('.')[-1][:40]} {x['seconds']:.1f}" for x in slow[:5]
                )
            )
    lines += [
        "",
        f"incremental_to_full={result['incremental_to_full']}",
        *([f"marginal_to_full={result['marginal_to_full']}"] if same else []),
        f"cpu_ratio_to_floor={result['cpu_ratio_to_floor']}",
        *(
            [
                f"ratio_to_floor={result['ratio_to_floor']}  "
                f"ratio_to_store_floor={result['ratio_to_store_floor']}"
            ]
            if store
            else []
        ),
    ]
    return "\n".join(lines)


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def _stages_line(phase: Phase) -> str:
    """A phase's stage times on one line, printed as soon as the phase ends: a long bench (Spark
    at 10M) that is stopped later still leaves them in its log."""
    return ", ".join(f"{name} {seconds:.1f}" for name, seconds in phase.stages.items())


def run_bench(
    *,
    events: int = 10_000_000,
    days: int = 30,
    customers: int = 500,
    work_dir: Path | None = None,
    seed: int = DEFAULT_SEED,
    start: dt.date = DEFAULT_START,
    memory_limit: str | None = None,
    results_dir: Path | None = None,
    floor_runs: int = DEFAULT_FLOOR_RUNS,
    engine: str = "duckdb",
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Generate, measure full / floor / incremental / no new data, print the table, write the
    JSON; return the figures (the dict written to ``bench/results/``)."""
    if days < MIN_DAYS or events < 1:
        raise ValueError(
            f"the bench needs events >= 1 and days >= {MIN_DAYS} (the generator "
            "needs 14 days with the incremental one)"
        )
    work = Path(work_dir or REPO_ROOT / "bench" / "scratch").resolve()
    work.mkdir(parents=True, exist_ok=True)
    memory_limit = memory_limit or os.environ.get(
        "METERLINE_BENCH_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT
    )
    data = data_dir_for(work, events=events, days=days, customers=customers, seed=seed)
    holdout = work / f"holdout_{data.name}"
    if data.exists():
        restore_holdout(data, holdout)  # a previous bench stopped midway
    ensure_data(
        data, events=events, days=days, customers=customers, seed=seed, start=start, echo=echo
    )
    # the demo's pricing-lab scenarios would be re-rated by every measured run: the bench
    # measures the pipeline; a scenario is timed with `meterline simulate`
    shutil.rmtree(data / "reference" / "scenarios", ignore_errors=True)
    cutoff = start + dt.timedelta(days=days)
    held = split_holdout(data, holdout, cutoff)
    reset_warehouse(data)
    env = bench_env(data, memory_limit, engine)
    code = code_snapshot(work)
    echo(f"code: {code}")
    prime_parse(code, env)
    load_before = _load()

    echo(f"full pipeline on {data} ...")
    full = run_pipeline_measured(data, env, "full", code)
    echo(f"  {full.seconds:.1f}s ({_stages_line(full)})")
    echo(f"floor query ({floor_runs} runs, median) ...")
    floor = run_floor(data, work, memory_limit, floor_runs)
    echo(f"  {floor.seconds:.1f}s")
    echo(f"store floor: persist the raw rows, then the floor query ({floor_runs} runs, median) ...")
    store = run_floor(data, work, memory_limit, floor_runs, mode="store")
    echo(f"  {store.seconds:.1f}s")
    restore_holdout(data, holdout)
    echo(f"incremental run (+{', '.join(held)}) ...")
    inc = run_pipeline_measured(data, env, "incremental", code)
    echo(f"  {inc.seconds:.1f}s ({_stages_line(inc)})")
    echo("run with no new data ...")
    same = run_pipeline_measured(data, env, "no new data", code)
    echo(f"  {same.seconds:.1f}s")
    marginal = round(inc.seconds - same.seconds, 3)
    month = start.strftime("%Y-%m")
    echo(f"scenario {BENCH_SCENARIO} over {month} ...")
    scenario, again = run_scenario_measured(data, env, month, code)
    echo(f"  {scenario.seconds:.1f}s, again with nothing changed {again.seconds:.1f}s")

    raw_rows = int(floor.detail["raw_rows"])
    result: dict[str, Any] = {
        "code": str(code),
        "params": {
            "engine": engine,
            "events": events,
            "days": days,
            "customers": customers,
            "seed": seed,
            "start": start.isoformat(),
            "memory_limit": memory_limit,
            "floor_runs": floor_runs,
            "incremental_files": held,
        },
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_before": load_before,
            "load_after": _load(),
        },
        "raw_rows_full": raw_rows,
        "full": asdict(full),
        "floor": asdict(floor),
        "store_floor": asdict(store),
        "incremental": asdict(inc),
        "no_new_data": asdict(same),
        "incremental_marginal_seconds": marginal,
        "marginal_to_full": _ratio(max(marginal, 0.0), full.seconds),
        "events_per_second": round(raw_rows / full.seconds, 1) if full.seconds else 0.0,
        "incremental_to_full": _ratio(inc.seconds, full.seconds),
        "cpu_ratio_to_floor": _ratio(full.cpu_seconds, floor.cpu_seconds),
        "ratio_to_floor": _ratio(full.seconds, floor.seconds),
        "ratio_to_store_floor": _ratio(full.seconds, store.seconds),
        "scenario": asdict(scenario),
        "scenario_again": asdict(again),
        "scenario_to_rating": _ratio(
            scenario.stages["scenario re-rating"], full.stages.get("rating", 0.0)
        ),
    }
    out_dir = results_dir or RESULTS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    suffix = "" if engine == "duckdb" else f"_{engine}"
    path = out_dir / f"bench_{events}{suffix}_{stamp}.json"
    path.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    result["results_file"] = str(path)
    echo(format_table(result))
    echo(f"results: {path}")
    echo(f"ratio_to_store_floor={result['ratio_to_store_floor']}")
    echo(f"ratio_to_floor={result['ratio_to_floor']}")
    return result
