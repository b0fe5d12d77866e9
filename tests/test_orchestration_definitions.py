"""The Dagster definitions: one asset graph (ingest -> staging -> marts -> exports) with checks,
the DuckDB writer pool, the schedules and the sensor; and the pure helpers of the pipeline."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest

from orchestration.config import Settings

pytestmark = pytest.mark.filterwarnings("ignore::Warning")


@pytest.fixture(scope="module")
def defs(dbt_manifest: Path) -> dg.Definitions:
    from orchestration.definitions import defs

    return defs


def key(*path: str) -> dg.AssetKey:
    return dg.AssetKey(list(path))


def test_ingest_assets_are_the_dbt_sources(defs: dg.Definitions) -> None:
    from orchestration.defs.ingest.assets import INGEST_ASSETS

    graph = defs.resolve_asset_graph()
    ingest_keys = {k for a in INGEST_ASSETS for k in a.keys}
    assert key("raw", "usage_events") in ingest_keys
    assert key("raw", "customers") in ingest_keys
    assert all(k.path[0] == "raw" for k in ingest_keys)
    # every raw table a dbt model reads is materialized by an ingest (or catalog) asset:
    # the lineage is one graph, no dangling source
    materializable = {k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable}
    for k in graph.get_all_asset_keys():
        for parent in graph.get(k).parent_keys:
            if parent.path[0] == "raw":
                assert parent in materializable, f"{k.to_user_string()} reads {parent}"


def test_graph_runs_ingest_to_staging_to_marts_to_exports(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    usage, stg = key("raw", "usage_events"), key("staging", "stg_usage__events")
    invoices, published = key("marts", "fct_invoices"), key("exports", "published_warehouse")
    assert usage in graph.get(stg).parent_keys
    assert graph.get(invoices).group_name == "billing"
    assert graph.get(stg).group_name == "staging"
    ancestors = graph.upstream_key_iterator(invoices)
    assert stg in set(ancestors)
    published_parents = graph.get(published).parent_keys
    assert invoices in published_parents
    assert key("exports", "invoice_csvs") in published_parents
    assert key("exports", "weekly_summaries") in published_parents
    assert (
        key("marts", "fct_weekly_usage_summary")
        in graph.get(key("exports", "weekly_summaries")).parent_keys
    )
    assert key("raw", "load_manifest") in published_parents
    assert key("raw", "catalog_prices") in published_parents


def test_checks_are_blocking_asset_checks(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    checks = {c.to_user_string() for c in graph.asset_check_keys}
    expected = {
        "raw/load_manifest:rows_conserved",
        "raw/customers:ge_reference_suite",
        "raw/subscriptions:ge_reference_suite",
        "staging/stg_reference__customers:primary_key_stg_reference__customers_customer_id",
    }
    assert expected <= checks
    assert any(c.startswith("marts/fct_invoices:") for c in checks)
    specs = {
        s.key.to_user_string(): s
        for a in (*defs.assets, *defs.asset_checks)  # type: ignore[union-attr]
        for s in getattr(a, "check_specs", [])
    }
    for name in expected:
        assert specs[name].blocking, name


def test_every_duckdb_writer_is_in_the_pool(defs: dg.Definitions) -> None:
    from orchestration.defs.resources import DUCKDB_WRITER_POOL

    for assets_def in defs.assets:  # type: ignore[union-attr]
        assert isinstance(assets_def, dg.AssetsDefinition)
        assert assets_def.node_def.pool == DUCKDB_WRITER_POOL, assets_def.node_def.name
    close_job = defs.get_job_def("close_period")
    assert close_job.graph.node_defs[0].pool == DUCKDB_WRITER_POOL


def test_instance_config_limits_the_pool_to_one(tmp_path: Path) -> None:
    from orchestration.dagster_instance import ensure_instance_config

    ensure_instance_config(tmp_path)
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    try:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
    finally:
        instance.dispose()


def test_schedules(defs: dg.Definitions) -> None:
    daily = defs.get_schedule_def("daily_pipeline")
    assert daily.cron_schedule == "0 2 * * *"
    assert daily.job_name == "meterline_pipeline"
    monthly = defs.get_schedule_def("monthly_close")
    assert monthly.job_name == "close_period"
    ctx = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2026, 11, 3, 13, 0, tzinfo=dt.UTC)
    )
    request = monthly.evaluate_tick(ctx).run_requests[0]  # type: ignore[index]
    assert request.run_config == {"ops": {"ledger": {"config": {"period": "2026-10"}}}}
    assert request.run_key == "close-2026-10"
    ctx = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2027, 1, 3, 13, 0, tzinfo=dt.UTC)
    )
    assert (
        monthly.evaluate_tick(ctx)
        .run_requests[0]
        .run_config[  # type: ignore[index]
            "ops"
        ]["ledger"]["config"]["period"]
        == "2026-12"
    )


def test_sensor_requests_a_run_for_new_files_only(
    defs: dg.Definitions, tmp_settings: Settings
) -> None:
    sensor = defs.get_sensor_def("raw_files_sensor")
    assert sensor.job_name == "meterline_pipeline"
    empty = sensor.evaluate_tick(dg.build_sensor_context(cursor=None))
    assert not empty.run_requests
    usage = tmp_settings.raw_dir / "usage" / "usage_2026-10-01.jsonl"
    usage.parent.mkdir(parents=True)
    usage.write_text('{"id": "e1"}\n')
    first = sensor.evaluate_tick(dg.build_sensor_context(cursor=None))
    assert len(first.run_requests) == 1  # type: ignore[arg-type]
    again = sensor.evaluate_tick(dg.build_sensor_context(cursor=first.cursor))
    assert not again.run_requests
    (usage.parent / "usage_2026-10-02.jsonl").write_text('{"id": "e2"}\n')
    second = sensor.evaluate_tick(dg.build_sensor_context(cursor=first.cursor))
    assert len(second.run_requests) == 1  # type: ignore[arg-type]
    assert second.cursor != first.cursor


def test_dbt_sub_stages_follow_folders_and_parents(dbt_manifest: Path) -> None:
    import json

    from orchestration.pipeline import COSTS, INVOICES, RATING, STAGING, dbt_node_stages

    manifest = json.loads(dbt_manifest.read_text())
    stages = dbt_node_stages(manifest)
    assert stages["model.meterline.stg_usage__events"] == STAGING
    assert stages["model.meterline.fct_invoices"] == INVOICES
    assert stages["model.meterline.fct_invoice_lines"] == INVOICES
    assert stages["model.meterline.int_billing_usage_rated"] == RATING
    assert stages["model.meterline.fct_cost_reconciliation"] == COSTS
    test_id = next(
        u for u in manifest["nodes"] if u.startswith("test.meterline.primary_key_fct_invoices_")
    )
    assert stages[test_id] == INVOICES


def test_split_dbt_stages_partitions_the_wall_time() -> None:
    from orchestration.pipeline import RATING, STAGING, split_dbt_stages

    def res(uid: str, end: str, status: str = "success") -> dict[str, object]:
        return {
            "unique_id": uid,
            "status": status,
            "timing": [{"name": "execute", "started_at": end, "completed_at": end}],
        }

    start = dt.datetime(2026, 11, 1, 0, 0, 0, tzinfo=dt.UTC).timestamp()
    results = {
        "results": [
            res("a", "2026-11-01T00:00:10Z"),
            res("b", "2026-11-01T00:00:12Z"),
            res("c", "2026-11-01T00:00:30Z", "fail"),
        ]
    }
    subs = split_dbt_stages(results, {"a": STAGING, "b": STAGING, "c": RATING}, start, start + 40)
    assert [(s.name, s.seconds, s.ok) for s in subs] == [
        (STAGING, 12.0, True),
        (RATING, 28.0, False),
    ]
    assert "c" in subs[1].detail


def test_run_status_sensors_record_dagster_runs_in_the_run_log(
    defs: dg.Definitions, tmp_settings: Settings
) -> None:
    """A run launched by Dagster (schedule, UI) writes the same run log `meterline close` reads,
    with its failed blocking checks."""
    from orchestration.defs.quality.sensors import record_pipeline_failure
    from orchestration.run_log import read_run_log

    assert {"record_pipeline_start", "record_pipeline_success", "record_pipeline_failure"} <= {
        s.name for s in defs.sensors
    }  # type: ignore[union-attr]

    @dg.asset(key=["raw", "thing"])
    def thing() -> int:
        return 1

    @dg.asset_check(asset=thing, blocking=True)
    def thing_is_valid() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=False)

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([thing, thing_is_valid], instance=instance, raise_on_error=False)
    assert not result.success  # a failed blocking check fails the run
    run = instance.get_run_by_id(result.run_id)
    assert run is not None
    failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
    ctx = dg.build_run_status_sensor_context(
        sensor_name="record_pipeline_failure",
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=run,
    ).for_run_failure()
    record_pipeline_failure(ctx)  # type: ignore[call-arg]
    log = read_run_log(tmp_settings)
    assert log is not None and log.status == "failed"
    assert "thing_is_valid" in (log.error or "")
    assert [(c.asset, c.check, c.passed, c.blocking) for c in log.checks] == [
        ("raw/thing", "thing_is_valid", False, True)
    ]
    assert len(log.failed_checks) == 1


def test_dbt_resource_skips_what_the_pipeline_does_not_use() -> None:
    """The dbt resource answers dagster-dbt's version question from the installed dbt-core, and
    builds no in-process adapter (MeterlineDbtCliResource). The hooks it overrides must still
    exist in dagster-dbt, and the answer must be the executable's own."""
    import subprocess

    from dagster_dbt import DbtCliResource

    from orchestration.defs.dbt.resources import dbt_resource

    assert "_cli_version" in vars(DbtCliResource)
    assert "_initialize_dbt_core_adapter" in vars(DbtCliResource)
    r = dbt_resource()
    out = subprocess.run(
        [r.dbt_executable, "--version"], check=True, capture_output=True, text=True
    ).stdout
    assert f"installed: {r._cli_version}" in out
    assert r._cli_version.major == 1
    assert r._initialize_dbt_core_adapter(["build"]) is None
