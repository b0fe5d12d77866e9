"""The dbt project as Dagster assets. ``dbt build`` runs models and their tests; dbt tests are
asset checks (error severity = blocking), so a failing test stops everything downstream
(publishing and the exports). Needs ``dbt_project/target/manifest.json`` (``make manifest``).

``build_dbt_assets(manifest)`` builds them from a parsed manifest: ``meterline run`` parses the
project when it changed and builds its definitions from the fresh manifest (no module reload).

dbt's target directory is per data directory (``<data_dir>/.meterline/dbt_target``): runs on
different warehouses never share artifacts, partial parsing is reused from one run to the next
(and a new target starts from the last parse any data directory left: ``partial_parse_seed``),
and ``meterline run`` reads the per-model timings of ``run_results.json`` from there. The
warehouse reaches dbt's profile as ``--vars {meterline_warehouse: ...}`` from the ``meterline``
resource: on DuckDB its file name, dbt running in its directory (``meterline-dbt --in``,
orchestration/dbt_in.py), so the parse seed of one data directory serves every other."""

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.build_plan import (
    BUILD_STATE,
    BuildPlan,
    plan_build,
    project_and_code,
    read_state,
    source_hashes,
    test_results,
    topological_order,
    write_state,
)
from orchestration.config import Settings
from orchestration.dbt_project import (
    DBT_MANIFEST,
    INCREMENTAL_STATE,
    dbt_build_args,
    dbt_target_path,
    incremental_fingerprints,
    load_manifest,
    needs_full_refresh,
    partial_parse_seed,
)
from orchestration.defs.dbt.translator import MeterlineTranslator
from orchestration.defs.resources import DUCKDB_WRITER_POOL, MeterlineResource

__all__ = [
    "DBT_ASSETS",
    "DBT_MANIFEST",
    "INCREMENTAL_STATE",
    "build_dbt_assets",
    "dbt_build_args",
    "dbt_target_path",
    "incremental_fingerprints",
    "needs_full_refresh",
]


@contextmanager
def spark_environment(s: Settings) -> Iterator[None]:
    """The dbt subprocess of dagster-dbt inherits os.environ: the spark target's variables
    (config.Settings.dbt_env) for the duration of one build."""
    keys = (
        "METERLINE_ENGINE",
        "METERLINE_DBT_TARGET",
        "METERLINE_LAKE_DIR",
        "METERLINE_SPARK_DIR",
        "METERLINE_DBT_PROJECT_DIR",
        "METERLINE_DATA_DIR",
        "MASTER",  # absent when SPARK_REMOTE names a Spark Connect server
    )
    env = s.dbt_env()
    saved = {k: os.environ.get(k) for k in keys}
    for k in keys:
        if k in env:
            os.environ[k] = env[k]
        else:
            os.environ.pop(k, None)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def build_dbt_assets(manifest: Mapping[str, Any] | Path) -> dg.AssetsDefinition:
    """The dbt assets of ``manifest`` (a parsed manifest, or the path of one). Passed as a dict:
    dagster-dbt caches a manifest per path for the process's lifetime."""
    parsed = manifest if isinstance(manifest, Mapping) else None

    @dbt_assets(
        manifest=manifest,
        dagster_dbt_translator=MeterlineTranslator(),
        name="meterline_dbt",
        pool=DUCKDB_WRITER_POOL,
        # the pricing lab's models read scenario re-ratings: built by the scenarios asset after this
        exclude="tag:scenarios",
    )
    def meterline_dbt_assets(
        context: AssetExecutionContext, dbt: DbtCliResource, meterline: MeterlineResource
    ) -> Iterator[Any]:
        s = meterline.settings()
        target = dbt_target_path(s)
        target.mkdir(parents=True, exist_ok=True)
        (target / "run_results.json").unlink(missing_ok=True)
        manifest_dict = parsed if parsed is not None else load_manifest()
        current = incremental_fingerprints(manifest_dict)
        full = meterline.full_refresh
        # DuckDB: dbt runs in the warehouse's directory and names it by its file name, so a new
        # data directory's first build starts from the last parse (partial_parse_seed)
        spark = s.engine == "spark"
        named = s.warehouse if spark else Path(s.warehouse.name)
        args = dbt_build_args(target, current, warehouse=named, full=full)
        # work that follows the data: only what is downstream of a changed source is rebuilt
        previous = read_state(target)
        (target / BUILD_STATE).unlink(missing_ok=True)
        hashes: dict[str, str] = {}
        project, code = project_and_code()
        if spark:
            plan = BuildPlan(True, "the Spark engine builds every node")
        else:
            hashes = source_hashes(s.warehouse, manifest_dict)
            full_reason = None
            if full:
                full_reason = "--full-refresh"
            elif "--full-refresh" in args and previous is not None:
                full_reason = "an incremental model's logic changed since it built its rows"
            plan = plan_build(
                manifest_dict,
                previous,
                hashes,
                project=project,
                code=code,
                full_reason=full_reason,
            )
        context.log.info(f"dbt build plan: {plan.summary()}")
        args += plan.dbt_args(manifest_dict)
        if not plan.full:
            # before dbt's own events: Dagster takes a multi-asset's outputs in topological order,
            # and no standing model is downstream of a rebuilt one
            yield from _standing(context, plan, topological_order(manifest_dict))
        if spark:
            # issue 21: Spark reads Parquet copies of raw/ledger; the marts it builds come back
            # into the DuckDB warehouse, so checks, close, exports and publish read them as ever
            from orchestration.lake import build_duckdb_views, export_lake, import_spark_relations

            export_lake(s)
            with spark_environment(s):
                yield from dbt.cli(args, context=context, target_path=target).stream()
            import_spark_relations(s)
            build_duckdb_views(s)
        else:
            with partial_parse_seed(target, named, args[args.index("--vars") + 1]):
                invocation = ["--in", str(s.warehouse.absolute().parent), *args]
                yield from dbt.cli(invocation, context=context, target_path=target).stream()
        # reached only when the build succeeded (a failed build raises): the incremental models'
        # rows now come from this logic
        (target / INCREMENTAL_STATE).write_text(json.dumps(current, indent=1, sort_keys=True))
        if hashes:
            tests = {} if plan.full else dict((previous or {}).get("tests") or {})
            tests.update(test_results(target / "run_results.json"))
            write_state(
                target,
                sources=hashes,
                project=project,
                code=code,
                tests=tests,
                plan=plan.summary(),
            )

    return meterline_dbt_assets


def _standing(
    context: AssetExecutionContext, plan: BuildPlan, order: Mapping[str, int]
) -> Iterator[Any]:
    """The models and tests the plan left standing, reported as this run's: each model as an
    output (its table is the one the last build wrote from the same rows), each test with its
    recorded result, so a publish is gated by every test as after a full build."""
    assets_def = context.assets_def
    standing = []
    for key in context.selected_asset_keys:
        uid = assets_def.specs_by_key[key].metadata.get("dagster_dbt/unique_id")
        if uid in plan.skipped:
            standing.append((order.get(uid, 0), uid, key))
    for _, _, key in sorted(standing):
        yield dg.Output(
            None,
            output_name=assets_def.get_output_name_for_asset_key(key),
            metadata={"meterline/standing": "its sources are unchanged since the last build"},
        )
    specs = {(spec.asset_key, spec.name): spec for spec in assets_def.check_specs}
    for check_key in sorted(context.selected_asset_check_keys, key=str):
        spec = specs.get((check_key.asset_key, check_key.name))
        uid = spec.metadata.get("dagster_dbt/unique_id") if spec is not None else None
        result = plan.carried.get(uid) if uid else None
        if result is None:
            continue
        status = str(result.get("status"))
        yield dg.AssetCheckResult(
            asset_key=check_key.asset_key,
            check_name=check_key.name,
            passed=status == "pass",
            severity=dg.AssetCheckSeverity.WARN
            if status == "warn"
            else dg.AssetCheckSeverity.ERROR,
            metadata={
                "meterline/carried": "the result of the last build (its inputs are unchanged)",
                "status": status,
                "message": str(result.get("message") or ""),
            },
        )


def _manifest_on_disk() -> Mapping[str, Any] | Path:
    if DBT_MANIFEST.exists():
        return load_manifest()
    return DBT_MANIFEST


DBT_ASSETS: list[dg.AssetsDefinition] = [build_dbt_assets(_manifest_on_disk())]
