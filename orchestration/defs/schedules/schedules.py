"""Jobs and schedules: the whole pipeline daily, and the monthly period close after the grace
period (PRICING.md: 2 days after the period ends in the customer's time zone; customer zones run
from UTC-12 to UTC+14, so the 3rd at 13:00 UTC is past the grace period for every customer)."""

import datetime as dt

import dagster as dg

from orchestration.defs.ingest.sensors import PIPELINE_JOB_NAME
from orchestration.defs.ledger.assets import LEDGER_GROUP, close_period_job

pipeline_job = dg.define_asset_job(
    name=PIPELINE_JOB_NAME,
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups(LEDGER_GROUP),
    description="Ingest, catalog, dbt build (tests as checks), exports, publish.",
)


def previous_month(day: dt.date) -> str:
    first = day.replace(day=1)
    return (first - dt.timedelta(days=1)).strftime("%Y-%m")


daily_pipeline_schedule = dg.ScheduleDefinition(
    name="daily_pipeline",
    job=pipeline_job,
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)


@dg.schedule(
    name="monthly_close",
    job=close_period_job,
    cron_schedule="0 13 3 * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def monthly_close_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    when = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
    period = previous_month(when.date())
    return dg.RunRequest(
        run_key=f"close-{period}",
        run_config={"ops": {"ledger": {"config": {"period": period}}}},
    )


JOBS = [pipeline_job, close_period_job]
SCHEDULES = [daily_pipeline_schedule, monthly_close_schedule]
