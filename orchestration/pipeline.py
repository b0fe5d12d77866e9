"""`meterline run`: materialize the Dagster graph of ``orchestration.definitions`` in-process, stage
by stage, with a progress line per stage, then publish the read-only snapshot.

Stages (the names the benchmark reads from ``<data_dir>/.meterline/last_run.json``, in order):

  ingest, checks, catalog, dbt staging+dedupe, rating, invoices, costs and margin, controls,
  publish

``ingest``, ``checks`` (Great Expectations suites and ingestion invariants, before anything is
built from the raw data), ``catalog`` and ``publish`` (invoice CSVs of closed periods, then the
snapshot) are one in-process execution each of the same Definitions with an asset or check
selection. The dbt models are built by ONE execution of the dbt assets (one ``dbt build``, its tests
as asset checks): starting dbt once per stage would cost a parse each time. The dbt sub-stages are
split from that build's ``run_results.json``: a model's stage is the latest of its own (by folder:
staging; billing/rating; ``fct_invoices``/``fct_invoice_lines``; costs; the rest = controls) and
its parents' stages; a test goes with its latest parent; a sub-stage's time runs from the end of
the previous one to the completion of its last node (dbt start-up counts in the first one), so the
sub-stages add up to the wall time of the build.

The run stops at the first failed stage or failed blocking check (``publish`` never runs, so the
last good snapshot stays). A run killed midway leaves ``status: running`` in the run log (closing is
refused) and converges on the next run: loads are idempotent (manifest by content hash) and
dbt-duckdb replaces each model in a transaction.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

from orchestration.config import Settings
from orchestration.defs.quality.run_log import (
    CheckResult,
    RunLog,
    StageResult,
    run_lock,
    write_run_log,
)

INGEST = "ingest"
CHECKS = "checks"
CATALOG = "catalog"
DBT = "dbt build"
STAGING = "dbt staging+dedupe"
RATING = "rating"
INVOICES = "invoices"
COSTS = "costs and margin"
CONTROLS = "controls"
SCENARIOS = "scenarios"
PUBLISH = "publish"
DBT_STAGES: tuple[str, ...] = (STAGING, RATING, INVOICES, COSTS, CONTROLS)
STAGE_ORDER: tuple[str, ...] = (INGEST, CHECKS, CATALOG, *DBT_STAGES, SCENARIOS, PUBLISH)
INVOICE_MARTS = frozenset({"fct_invoices", "fct_invoice_lines"})


@dataclass(frozen=True)
class Stage:
    name: str
    selection: dg.AssetSelection


def preferred_dbt_stage(group: str | None, name: str) -> str:
    if group == "staging":
        return STAGING
    if name in INVOICE_MARTS:
        return INVOICES
    if group in ("billing", "rating"):
        return RATING
    if group == "costs":
        return COSTS
    return CONTROLS


def dbt_node_stages(manifest: Mapping[str, Any]) -> dict[str, str]:
    """Sub-stage of every dbt model and test (unique_id -> stage name), from the manifest."""
    from orchestration.defs.dbt.translator import dbt_group

    nodes: Mapping[str, Any] = manifest.get("nodes", {})
    order = {name: i for i, name in enumerate(DBT_STAGES)}
    memo: dict[str, str] = {}

    def stage(uid: str) -> str:
        if uid in memo:
            return memo[uid]
        node = nodes[uid]
        parents = [p for p in node.get("depends_on", {}).get("nodes", []) if p in nodes]
        if node.get("resource_type") == "test":
            best = STAGING
        else:
            best = preferred_dbt_stage(dbt_group(list(node.get("fqn") or [])), node["name"])
        memo[uid] = best  # cycle guard (dbt graphs are acyclic)
        for parent in parents:
            ps = stage(parent)
            if order[ps] > order[best]:
                best = ps
        memo[uid] = best
        return best

    return {uid: stage(uid) for uid in nodes}


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


def build_stages(defs: dg.Definitions) -> list[Stage]:
    from orchestration.defs.catalog.assets import CATALOG_ASSETS
    from orchestration.defs.dbt.assets import DBT_ASSETS
    from orchestration.defs.exports.assets import (
        INVOICE_EXPORTS_KEY,
        PUBLISHED_KEY,
        WEEKLY_SUMMARIES_KEY,
    )
    from orchestration.defs.ingest.assets import INGEST_ASSETS
    from orchestration.defs.scenarios.assets import SCENARIO_KEYS

    ingest_keys = [k for a in INGEST_ASSETS for k in a.keys]
    dbt_keys = [k for a in DBT_ASSETS for k in a.keys]
    return [
        Stage(INGEST, dg.AssetSelection.assets(*ingest_keys).without_checks()),
        Stage(CHECKS, dg.AssetSelection.checks_for_assets(*ingest_keys)),
        Stage(CATALOG, dg.AssetSelection.assets(*[k for a in CATALOG_ASSETS for k in a.keys])),
        Stage(DBT, dg.AssetSelection.assets(*dbt_keys)),
        Stage(SCENARIOS, dg.AssetSelection.assets(*SCENARIO_KEYS)),
        Stage(
            PUBLISH,
            dg.AssetSelection.assets(INVOICE_EXPORTS_KEY, WEEKLY_SUMMARIES_KEY, PUBLISHED_KEY),
        ),
    ]


@contextmanager
def settings_env(s: Settings) -> Iterator[None]:
    """Point the resources and dbt's profile (both read the environment) at ``s``."""
    names = ("METERLINE_DATA_DIR", "METERLINE_WAREHOUSE")
    saved = {n: os.environ.get(n) for n in names}
    os.environ["METERLINE_DATA_DIR"] = str(s.data_dir)
    os.environ["METERLINE_WAREHOUSE"] = str(s.warehouse)
    try:
        yield
    finally:
        for n, v in saved.items():
            if v is None:
                os.environ.pop(n, None)
            else:
                os.environ[n] = v


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _root_message(err: object) -> str:
    """The innermost cause of a Dagster error (the user code's exception), one line per level
    below the wrapper."""
    while getattr(err, "cause", None) is not None:
        err = err.cause  # type: ignore[attr-defined]
    return str(getattr(err, "message", err)).strip()


def _failure_detail(result: dg.ExecuteInProcessResult) -> str:
    messages = []
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data is not None:
            err = event.step_failure_data.error
            messages.append(f"{event.step_key}: {_root_message(err) if err else 'failed'}")
    return "\n".join(messages)[-4000:]


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

    @contextmanager
    def stage(self, name: str, index: int, total: int) -> Iterator[None]:
        with self.console.status(f"[{index}/{total}] {name} ..."):
            yield

    def done(self, st: StageResult, index: int, total: int) -> None:
        mark = "[green]ok[/green]" if st.ok else "[red]FAILED[/red]"
        self.console.print(f"[{index}/{total}] {st.name:<20} {mark} {st.seconds:8.2f}s")
        if not st.ok and st.detail:
            self.console.print(st.detail, markup=False, highlight=False)


def _dbt_sub_stages(
    s: Settings, st: StageResult, started: float, finished: float
) -> list[StageResult]:
    """The dbt stage split into its sub-stages (or itself, when dbt left no run results)."""
    from orchestration.defs.dbt.assets import DBT_MANIFEST, dbt_target_path

    results_path = dbt_target_path(s) / "run_results.json"
    if not results_path.exists():
        return [st]
    manifest = json.loads(Path(DBT_MANIFEST).read_text(encoding="utf-8"))
    run_results = json.loads(results_path.read_text(encoding="utf-8"))
    subs = split_dbt_stages(run_results, dbt_node_stages(manifest), started, finished)
    if not subs:
        return [st]
    if not st.ok and all(sub.ok for sub in subs):  # failed outside a node (e.g. dbt itself)
        subs[-1] = StageResult(subs[-1].name, subs[-1].seconds, False, st.detail)
    elif not st.ok:
        subs = [
            StageResult(x.name, x.seconds, x.ok, x.detail if x.ok else f"{x.detail}\n{st.detail}")
            for x in subs
        ]
    return subs


def manifest_is_stale() -> bool:
    """True when dbt_project/target/manifest.json is missing or older than a project file."""
    from orchestration.config import DBT_PROJECT_DIR
    from orchestration.defs.dbt.assets import DBT_MANIFEST

    if not DBT_MANIFEST.exists():
        return True
    built = DBT_MANIFEST.stat().st_mtime
    sources = [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    for sub in ("models", "macros", "tests", "seeds", "snapshots"):
        root = DBT_PROJECT_DIR / sub
        if root.is_dir():
            sources += [p for p in root.rglob("*") if p.suffix in (".sql", ".yml", ".yaml", ".csv")]
    if any(p.exists() and p.stat().st_mtime > built for p in sources):
        return True
    # a deleted model, test or macro changes no modification time: compare the manifest's files
    manifest = json.loads(DBT_MANIFEST.read_text(encoding="utf-8"))
    known = {
        node.get("original_file_path")
        for kind in ("nodes", "macros")
        for node in manifest.get(kind, {}).values()
        if node.get("package_name") == manifest.get("metadata", {}).get("project_name", "meterline")
    }
    return any(rel and not (DBT_PROJECT_DIR / rel).exists() for rel in known)


def ensure_manifest(s: Settings) -> None:
    """``@dbt_assets`` reads the manifest at import: parse the project first when it changed,
    and in a long-lived process (tests, a notebook) reload the definitions built from the old
    manifest, so dbt never reports a node the asset graph does not know."""
    import importlib
    import sys

    from orchestration.defs.dbt.assets import DBT_MANIFEST

    if manifest_is_stale():
        from orchestration.dbt_runner import run_dbt

        run_dbt(s, "parse", "--quiet")
    loaded = sys.modules.get("orchestration.defs.dbt.assets")
    built_from = getattr(loaded, "MANIFEST_MTIME", None)
    if loaded is not None and built_from != DBT_MANIFEST.stat().st_mtime_ns:
        for name in ("orchestration.defs.dbt.assets", "orchestration.definitions"):
            if name in sys.modules:
                importlib.reload(sys.modules[name])


def run_pipeline(s: Settings, *, progress: bool = True, log_level: str = "CRITICAL") -> bool:
    """Ingest, check, build, export and publish. True when every stage and blocking check passed
    (and the snapshot was published); the run log records the outcome either way. Dagster's own
    console log is quiet (``log_level``) and dbt's streamed log goes to
    ``<data_dir>/.meterline/dbt_stream.log``: the stage lines and failure details say what
    matters."""
    ensure_manifest(s)
    from orchestration.definitions import defs

    with run_lock(s) as locked:
        if not locked:
            StageProgress(True).console.print(
                f"another meterline run holds {s.data_dir}; try again when it ends"
            )
            return False
        log = RunLog(status="running", started_at=_now())
        write_run_log(s, log)
        (s.data_dir / ".meterline" / "dbt_stream.log").write_text("", encoding="utf-8")
        ui = StageProgress(progress)
        instance = dg.DagsterInstance.ephemeral()
        stages = build_stages(defs)
        with settings_env(s):
            for i, stage in enumerate(stages, start=1):
                started, wall_start = time.perf_counter(), time.time()
                with ui.stage(stage.name, i, len(stages)):
                    result = _execute(s, defs, stage, instance, log_level)
                checks = _check_results(result)
                log.checks += checks
                failed = [c for c in checks if not c.passed and c.blocking]
                ok = result.success and not failed
                detail = _failure_detail(result) if not result.success else ""
                if failed:
                    detail = "\n".join(
                        [detail, *(f"check failed: {c.asset} {c.check} {c.detail}" for c in failed)]
                    ).strip()
                st = StageResult(stage.name, round(time.perf_counter() - started, 3), ok, detail)
                done = [st]
                if stage.name == DBT:
                    done = _dbt_sub_stages(s, st, wall_start, wall_start + st.seconds)
                for sub in done:
                    log.stages.append(sub)
                    ui.done(sub, i, len(stages))
                if not ok:
                    log.status, log.error, log.finished_at = "failed", detail, _now()
                    write_run_log(s, log)
                    return False
        log.status, log.finished_at = "succeeded", _now()
        log.published = str(s.published_warehouse)
        write_run_log(s, log)
        return True


def _execute(
    s: Settings, defs: dg.Definitions, stage: Stage, instance: dg.DagsterInstance, log_level: str
) -> dg.ExecuteInProcessResult:
    stream_log = s.data_dir / ".meterline" / "dbt_stream.log"
    with open(stream_log, "a", encoding="utf-8") as fh, contextlib.redirect_stdout(fh):
        return _materialize(defs, stage, instance, log_level)


def _materialize(
    defs: dg.Definitions, stage: Stage, instance: dg.DagsterInstance, log_level: str
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        assets=[*(defs.assets or []), *(defs.asset_checks or [])],  # type: ignore[list-item]
        selection=stage.selection,
        resources=dict(defs.resources or {}),
        instance=instance,
        raise_on_error=False,
        tags={"meterline/stage": stage.name},
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
    )
