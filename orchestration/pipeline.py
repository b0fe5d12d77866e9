"""`meterline run`: ONE execution of the Dagster job ``meterline_pipeline`` (the asset graph of
``orchestration/defs``: ingest -> checks -> catalog -> dbt build -> exports -> publish), with a
progress line per stage, then the run log.

Before anything heavy is imported, the run asks whether there is anything to do
(``orchestration.run_state``): when no input file is new or changed, and the dbt project, the
code and what the last successful run wrote are as they were, it stops with "no new data" and the
last published snapshot and check results stand. ``full_refresh`` skips that question and
rebuilds dbt's incremental models from nothing.

Settings reach the job as resource config (the ``meterline`` resource: data directory and
warehouse; dbt's profile gets the warehouse as a var), never through the environment. The dbt
manifest is parsed when the project changed and the definitions are built from it (no module
reload).

Stages (the names the benchmark reads from ``<data_dir>/.meterline/last_run.json``, in order):

  ingest, checks, catalog, dbt staging+dedupe, rating, invoices, costs and margin, controls,
  publish

They come from the job's own step events: each step's time runs from the end of the step before
it (so the stages add up to the job's wall time); a step's stage is its area (ingest assets,
raw-layer asset checks, catalog, dbt, exports). The dbt step is split into sub-stages by the
folder of each dbt node (``orchestration.dbt_project.dbt_node_stages``) and the completion times
in its ``run_results.json``.

A failed step or failed blocking check stops what depends on it: ``publish`` depends on every
asset, so the last good snapshot stays. A run killed midway leaves ``status: running`` in the
run log (closing is refused) and converges on the next run: loads are idempotent (manifest by
content hash) and dbt-duckdb replaces each model in a transaction.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestration.build_plan import read_state
from orchestration.config import Settings
from orchestration.dbt_project import (
    CONTROLS,
    COSTS,
    DBT_MANIFEST,
    DBT_STAGES,
    INVOICES,
    RATING,
    STAGING,
    dbt_node_stages,
    dbt_target_path,
    manifest_is_stale,
    manifest_lock,
    read_manifest,
)
from orchestration.run_log import (
    CheckResult,
    RunLog,
    StageResult,
    read_run_log,
    run_lock,
    write_run_log,
)

if TYPE_CHECKING:
    import dagster as dg

INGEST = "ingest"
CHECKS = "checks"
CATALOG = "catalog"
DBT = "dbt build"
SCENARIOS = "scenarios"
PUBLISH = "publish"
VERIFY = "verify inputs"
STAGE_ORDER: tuple[str, ...] = (INGEST, CHECKS, CATALOG, *DBT_STAGES, SCENARIOS, PUBLISH)
AREAS: tuple[str, ...] = (
    INGEST,
    CHECKS,
    CATALOG,
    DBT,
    SCENARIOS,
    PUBLISH,
)  # steps' stages (dbt: split)

__all__ = [
    "CATALOG",
    "CHECKS",
    "CONTROLS",
    "COSTS",
    "DBT",
    "DBT_MANIFEST",
    "DBT_STAGES",
    "INGEST",
    "INVOICES",
    "PUBLISH",
    "RATING",
    "SCENARIOS",
    "STAGE_ORDER",
    "STAGING",
    "VERIFY",
    "dbt_node_stages",
    "ensure_manifest",
    "manifest_is_stale",
    "run_pipeline",
    "split_dbt_stages",
]


def _epoch(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def split_dbt_stages(
    run_results: Mapping[str, Any], node_stage: Mapping[str, str], started: float, finished: float
) -> list[StageResult]:
    """Partition the dbt build's wall time [started, finished] (epoch seconds) into sub-stages."""
    ends: dict[str, float] = {}
    counts: dict[str, int] = {}
    failed: dict[str, list[str]] = {}
    for res in run_results.get("results", []):
        if res.get("unique_id", "").startswith("operation."):
            continue  # on-run-start (macros/lake_sources.sql): no SQL on DuckDB, not a node
        st = node_stage.get(res.get("unique_id", ""), CONTROLS)
        done = [_epoch(t["completed_at"]) for t in res.get("timing", []) if t.get("completed_at")]
        if done:
            ends[st] = max(ends.get(st, started), *done)
        counts[st] = counts.get(st, 0) + 1
        if res.get("status") in ("error", "fail"):
            failed.setdefault(st, []).append(res.get("unique_id", "?"))
    present = [st for st in DBT_STAGES if st in counts]
    out: list[StageResult] = []
    previous = started
    for i, st in enumerate(present):
        end = (
            finished
            if i == len(present) - 1
            else min(max(ends.get(st, previous), previous), finished)
        )
        errors = failed.get(st, [])
        detail = f"{counts[st]} dbt nodes" + (
            f"; failed: {', '.join(errors[:10])}" if errors else ""
        )
        out.append(StageResult(st, round(end - previous, 3), not errors, detail))
        previous = end
    return out


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _root_message(err: object) -> str:
    """The innermost cause of a Dagster error (the user code's exception)."""
    while getattr(err, "cause", None) is not None:
        err = err.cause  # type: ignore[attr-defined]
    return str(getattr(err, "message", err)).strip()


def _check_results(result: dg.ExecuteInProcessResult) -> list[CheckResult]:
    out = []
    for ev in result.get_asset_check_evaluations():
        meta = "; ".join(
            f"{k}={getattr(v, 'value', v)}"
            for k, v in sorted(ev.metadata.items())
            if k in ("problems", "first", "failed_row_count", "message")
        )
        out.append(
            CheckResult(
                asset=ev.asset_key.to_user_string(),
                check=ev.check_name,
                passed=ev.passed,
                blocking=bool(ev.blocking),
                detail=meta[:500],
            )
        )
    return out


class StageProgress:
    """Per-stage progress lines (rich), or silence."""

    def __init__(self, enabled: bool) -> None:
        from rich.console import Console

        self.console = Console(stderr=True, quiet=not enabled)
        self.total = len(STAGE_ORDER)

    @contextmanager
    def running(self, what: str) -> Iterator[Any]:
        with self.console.status(what) as status:
            yield status

    def done(self, st: StageResult) -> None:
        index = STAGE_ORDER.index(st.name) + 1 if st.name in STAGE_ORDER else 1
        total = self.total if st.name in STAGE_ORDER else 1
        mark = "[green]ok[/green]" if st.ok else "[red]FAILED[/red]"
        self.console.print(f"[{index}/{total}] {st.name:<20} {mark} {st.seconds:8.2f}s")
        if not st.ok and st.detail:
            self.console.print(st.detail, markup=False, highlight=False)


def ensure_manifest(s: Settings) -> dict[str, Any]:
    """The parsed dbt manifest, parsing the project first when it changed (``@dbt_assets`` needs
    the manifest; the definitions of a run are built from it)."""
    with manifest_lock(exclusive=True):  # one parse at a time, no reader of a torn file
        if manifest_is_stale():
            import dataclasses

            from orchestration.project_parse import parse_project

            # the shared manifest is DuckDB's whatever the engine (the Spark target's parse would
            # record the incremental models as tables, macros/lake_sources.sql et al.)
            parse_project(dataclasses.replace(s, engine="duckdb"))
        return read_manifest()


# ---------------------------------------------------------------- stages from the job's events


class StageClock:
    """Turns the job's step events into stage times, printing each stage when its last step
    ends. A step's time runs from the end of the previous step (or the run's start)."""

    def __init__(
        self, s: Settings, step_stage: Mapping[str, str], manifest: Mapping[str, Any], ui: Any
    ) -> None:
        self.s = s
        self.step_stage = dict(step_stage)
        self.manifest = manifest
        self.ui = ui
        self.status: Any = None
        self.last_end: float | None = None
        self.seconds: dict[str, float] = {}
        self.failed_steps: dict[str, list[str]] = {}
        self.pending = {st: {k for k, v in step_stage.items() if v == st} for st in AREAS}
        self.results: dict[str, list[StageResult]] = {}
        self.printed: set[str] = set()

    def on_event(self, entry: Any) -> None:
        event = entry.dagster_event
        if event is None:
            return
        kind = event.event_type_value
        if kind == "STEP_START":
            if self.last_end is None:
                self.last_end = entry.timestamp
            stage = self.step_stage.get(event.step_key or "", "")
            if self.status is not None and stage:
                self.status.update(f"{stage}: {event.step_key} ...")
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            self._step_ended(event, entry.timestamp, kind == "STEP_FAILURE")

    def _step_ended(self, event: Any, ts: float, failed: bool) -> None:
        key = event.step_key or ""
        stage = self.step_stage.get(key, PUBLISH)
        started = self.last_end if self.last_end is not None else ts
        self.last_end = ts
        if failed:
            err = event.step_failure_data.error if event.step_failure_data else None
            self.failed_steps.setdefault(stage, []).append(
                f"{key}: {_root_message(err) if err else 'failed'}"
            )
        if stage == DBT:
            self.results[DBT] = self._dbt_sub_stages(started, ts, failed)
        else:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + (ts - started)
        self.pending.get(stage, set()).discard(key)
        self._flush()

    def _dbt_sub_stages(self, started: float, finished: float, failed: bool) -> list[StageResult]:
        detail = "\n".join(self.failed_steps.get(DBT, []))
        whole = StageResult(DBT, round(finished - started, 3), not failed, detail)
        results_path = dbt_target_path(self.s) / "run_results.json"
        if not results_path.exists():
            return [whole]
        run_results = json.loads(results_path.read_text(encoding="utf-8"))
        subs = split_dbt_stages(run_results, dbt_node_stages(self.manifest), started, finished)
        if not subs:
            return [whole]
        plan = (read_state(dbt_target_path(self.s)) or {}).get("plan") if not failed else None
        if plan:  # why this build was whole or partial (orchestration/build_plan.py)
            self.ui.console.print(f"      dbt build plan: {plan}", markup=False, highlight=False)
            first = subs[0]
            subs[0] = StageResult(first.name, first.seconds, first.ok, f"{first.detail}; {plan}")
        if failed and all(sub.ok for sub in subs):  # failed outside a node (e.g. dbt itself)
            subs[-1] = StageResult(subs[-1].name, subs[-1].seconds, False, detail)
        elif failed:
            subs = [
                StageResult(x.name, x.seconds, x.ok, x.detail if x.ok else f"{x.detail}\n{detail}")
                for x in subs
            ]
        return subs

    def _stage_result(self, stage: str) -> StageResult:
        errors = self.failed_steps.get(stage, [])
        return StageResult(
            stage, round(self.seconds.get(stage, 0.0), 3), not errors, "\n".join(errors)[-4000:]
        )

    def _flush(self, final: bool = False) -> None:
        """Print the stages whose steps all ended, in stage order, up to the first one still
        running (at the end of the run: every stage that ran)."""
        for stage in AREAS:
            if stage in self.printed:
                continue
            if self.pending.get(stage) and not final:
                return
            if stage not in self.seconds and stage not in self.results:
                continue  # no step of it ran (none in the job, or all skipped)
            self.printed.add(stage)
            if stage != DBT:
                self.results[stage] = [self._stage_result(stage)]
            for st in self.results[stage]:
                self.ui.done(st)

    def stages(self) -> list[StageResult]:
        self._flush(final=True)
        out: list[StageResult] = []
        for stage in AREAS:
            out += self.results.get(stage, [])
        return out


def step_stages(defs: dg.Definitions) -> dict[str, str]:
    """Step key (op name) -> stage, by the group of the asset (``ingest``, ``catalog``,
    ``exports`` = publish, any other = a dbt folder) or, for an asset check, ``checks``."""
    by_group = {"ingest": INGEST, "catalog": CATALOG, "scenarios": SCENARIOS, "exports": PUBLISH}
    out: dict[str, str] = {}
    for a in defs.assets or []:
        groups = set(a.group_names_by_key.values())  # type: ignore[union-attr]
        if groups == {"ledger"}:
            continue  # the ledger is written by a close (close_period), never by a run
        stages = {by_group.get(g, DBT) for g in groups}
        out[a.op.name] = stages.pop() if len(stages) == 1 else DBT  # type: ignore[union-attr]
    for c in defs.asset_checks or []:
        out[c.op.name] = CHECKS  # type: ignore[union-attr]
    return out


# ---------------------------------------------------------------- the run


def _no_new_data(s: Settings, ui: StageProgress) -> bool:
    """True (and the run log says so) when there is nothing to do."""
    from orchestration.run_state import Unchanged, nothing_to_do

    started, at = time.perf_counter(), _now()
    verdict = nothing_to_do(s)
    if not isinstance(verdict, Unchanged):
        return False
    previous = read_run_log(s)
    assert previous is not None  # nothing_to_do requires a succeeded run log
    detail = f"no new data: {verdict.files} input files unchanged"
    st = StageResult(VERIFY, round(time.perf_counter() - started, 3), True, detail)
    log = RunLog(
        status="succeeded",
        started_at=at,
        finished_at=_now(),
        stages=[st],
        checks=previous.checks,
        published=previous.published,
        no_new_data=True,
    )
    write_run_log(s, log)
    ui.done(st)
    ui.console.print(
        f"no new data: {verdict.files} input files, the dbt project and the code are as the "
        f"run of {previous.started_at} left them; its snapshot and check results stand"
    )
    return True


def run_pipeline(
    s: Settings,
    *,
    progress: bool = True,
    log_level: str = "CRITICAL",
    full_refresh: bool = False,
) -> bool:
    """Ingest, check, build, export and publish. True when every step and blocking check passed
    (and the snapshot was published), or when there was nothing new to do; the run log records
    the outcome either way. Dagster's own console log is quiet (``log_level``) and dbt's
    streamed log goes to ``<data_dir>/.meterline/dbt_stream.log``: the stage lines and failure
    details say what matters."""
    ui = StageProgress(progress)
    with run_lock(s) as locked:
        if not locked:
            StageProgress(True).console.print(
                locked.reason, soft_wrap=True, markup=False, highlight=False
            )
            return False
        if not full_refresh and _no_new_data(s, ui):
            return True
        from orchestration import run_state

        pending = run_state.begin(s)
        log = RunLog(status="running", started_at=_now())
        write_run_log(s, log)
        stream_log = s.data_dir / ".meterline" / "dbt_stream.log"
        stream_log.write_text("", encoding="utf-8")
        manifest = ensure_manifest(s)
        result, clock = _execute_job(s, manifest, ui, log_level, full_refresh, stream_log)
        log.stages = clock.stages()
        log.checks = _check_results(result)
        failed = log.failed_checks
        ok = result.success and not failed
        if not ok:
            detail = "\n".join(
                [
                    *(e for st in log.stages if not st.ok for e in [st.detail] if e),
                    *(f"check failed: {c.asset} {c.check} {c.detail}" for c in failed),
                ]
            ).strip()
            log.status, log.error, log.finished_at = "failed", detail or "run failed", _now()
            write_run_log(s, log)
            return False
        log.status, log.finished_at = "succeeded", _now()
        log.published = str(s.published_warehouse)
        write_run_log(s, log)
        run_state.commit(s, pending)
        return True


def close_with_job(
    s: Settings,
    period: str,
    *,
    through: bool = False,
    exclude: Sequence[str] = (),
    force: bool = False,
    as_of: dt.datetime | None = None,
    log_level: str = "CRITICAL",
) -> tuple[bool, str]:
    """``meterline close``: materialize the ledger asset (the ``close_period`` job of the same
    definitions as ``meterline run``). Returns (closed, what to tell the user): the close's
    message, or why it was refused."""
    import dagster as dg

    from orchestration.defs.build import CLOSE_JOB_NAME, build_definitions

    config: dict[str, Any] = {"period": period, "through": through, "exclude": list(exclude)}
    config |= {"force": force} | ({"issued_at": as_of.isoformat()} if as_of else {})
    defs = build_definitions(ensure_manifest(s), s)
    result = defs.resolve_job_def(CLOSE_JOB_NAME).execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
        tags={"meterline/entry": "meterline close"},
        run_config={
            "ops": {"ledger": {"config": config}},
            "loggers": {"console": {"config": {"log_level": log_level}}},
        },
    )
    if result.success:
        for event in result.get_asset_materialization_events():
            message = event.materialization.metadata.get("message")
            if message is not None:
                return True, str(message.value)
        return True, f"{period} closed"
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data is not None:
            failure = event.step_failure_data.user_failure_data
            if failure is not None and failure.description:
                return False, failure.description
            error = event.step_failure_data.error
            return False, error.to_string() if error is not None else "close failed"
    return False, "close failed"


def _execute_job(
    s: Settings,
    manifest: Mapping[str, Any],
    ui: StageProgress,
    log_level: str,
    full_refresh: bool,
    stream_log: Path,
) -> tuple[dg.ExecuteInProcessResult, StageClock]:
    import dagster as dg

    from orchestration.defs.build import PIPELINE_JOB_NAME, build_definitions

    defs = build_definitions(manifest, s, full_refresh=full_refresh)
    job = defs.resolve_job_def(PIPELINE_JOB_NAME)
    clock = StageClock(s, step_stages(defs), manifest, ui)
    instance = dg.DagsterInstance.ephemeral()
    run_id = str(uuid.uuid4())
    instance.add_event_listener(run_id, clock.on_event)
    with (
        ui.running("meterline run ...") as status,
        open(stream_log, "a", encoding="utf-8") as fh,
        contextlib.redirect_stdout(fh),
    ):
        clock.status = status
        clock.last_end = time.time()  # the job's start-up counts in its first step's stage
        result = job.execute_in_process(
            instance=instance,
            run_id=run_id,
            raise_on_error=False,
            tags={"meterline/entry": "meterline run"},
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        )
    return result, clock
