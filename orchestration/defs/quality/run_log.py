"""Moved to ``orchestration.run_log`` (domain code; ``defs/`` holds Dagster objects only).
Re-exported here for code that still imports the old path."""

from orchestration.run_log import (
    CheckResult,
    RunLog,
    StageResult,
    read_run_log,
    run_lock,
    run_log_path,
    write_run_log,
)

__all__ = [
    "CheckResult",
    "RunLog",
    "StageResult",
    "read_run_log",
    "run_lock",
    "run_log_path",
    "write_run_log",
]
