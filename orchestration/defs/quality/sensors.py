"""Run-status sensors: a pipeline run launched by Dagster (schedule, sensor, UI) records its
outcome in the same run log as `meterline run` (``.meterline/last_run.json``), with every
asset-check result, so `meterline close` and the monthly close job gate on it."""

import datetime as dt

import dagster as dg

from orchestration.config import settings
from orchestration.defs.schedules.schedules import pipeline_job
from orchestration.run_log import CheckResult, RunLog, write_run_log


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_results(instance: dg.DagsterInstance, run_id: str) -> list[CheckResult]:
    out = []
    records = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    for record in records:
        ev = record.dagster_event.event_specific_data if record.dagster_event else None
        if ev is None:
            continue
        out.append(
            CheckResult(
                asset=ev.asset_key.to_user_string(),
                check=ev.check_name,
                passed=ev.passed,
                blocking=bool(ev.blocking),
            )
        )
    return out


def record_run(context: dg.RunStatusSensorContext, status: str, error: str | None = None) -> None:
    run = context.dagster_run
    stats = context.instance.get_run_stats(run.run_id)
    log = RunLog(
        status=status,
        started_at=_iso(stats.start_time) or "",
        finished_at=None if status == "running" else _iso(stats.end_time),
        checks=check_results(context.instance, run.run_id),
        error=error,
    )
    write_run_log(settings(), log)


@dg.run_status_sensor(
    name="record_pipeline_start",
    run_status=dg.DagsterRunStatus.STARTED,
    monitored_jobs=[pipeline_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def record_pipeline_start(context: dg.RunStatusSensorContext) -> None:
    record_run(context, "running")


@dg.run_status_sensor(
    name="record_pipeline_success",
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[pipeline_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def record_pipeline_success(context: dg.RunStatusSensorContext) -> None:
    record_run(context, "succeeded")


@dg.run_failure_sensor(
    name="record_pipeline_failure",
    monitored_jobs=[pipeline_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def record_pipeline_failure(context: dg.RunFailureSensorContext) -> None:
    message = context.failure_event.message if context.failure_event else None
    record_run(context, "failed", error=message)


RUN_LOG_SENSORS: list[dg.SensorDefinition] = [
    record_pipeline_start,
    record_pipeline_success,
    record_pipeline_failure,
]
