"""A sensor that notices new or changed files under ``raw/`` (and ``reference/``) and runs
ingestion: it requests the pipeline job, whose first stage is ingestion (each file is loaded
once, by content hash, so a request for files already loaded is cheap)."""

import hashlib

import dagster as dg

from orchestration.config import Settings, settings

PIPELINE_JOB_NAME = "meterline_pipeline"


def input_fingerprint(s: Settings) -> tuple[str, int]:
    """(digest, file count) of every input file's (relative path, size, mtime). Pure of the
    warehouse; changes whenever a file is added, replaced or removed."""
    h = hashlib.sha256()
    count = 0
    for root in (s.raw_dir, s.reference_dir):
        if not root.is_dir():
            continue
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            st = path.stat()
            rel = path.relative_to(s.data_dir).as_posix()
            h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
            count += 1
    return h.hexdigest(), count


def new_files_request(s: Settings, cursor: str | None) -> tuple[dg.RunRequest | None, str]:
    """The run request for the current inputs (None when nothing changed), and the new cursor."""
    digest, count = input_fingerprint(s)
    if count == 0 or digest == cursor:
        return None, cursor or ""
    return dg.RunRequest(run_key=digest, tags={"meterline/input_files": str(count)}), digest


@dg.sensor(
    name="raw_files_sensor",
    job_name=PIPELINE_JOB_NAME,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="New files in raw/ or reference/ -> ingest them and rebuild.",
)
def raw_files_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    request, cursor = new_files_request(settings(), context.cursor)
    if request is None:
        return dg.SensorResult(skip_reason="no new files", cursor=cursor)
    return dg.SensorResult(run_requests=[request], cursor=cursor)


SENSORS: list[dg.SensorDefinition] = [raw_files_sensor]
