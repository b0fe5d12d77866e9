"""The Dagster instance settings meterline needs: the DuckDB writer pool limited to 1.

``meterline ui`` writes this into ``$DAGSTER_HOME/dagster.yaml`` when the file is missing (an
existing file is left alone and must carry the same ``concurrency`` block); ``meterline run``
executes in-process, one step at a time, so it needs no instance setting."""

from __future__ import annotations

from pathlib import Path

DAGSTER_YAML = """\
# written by meterline: every DuckDB writer runs in pool `duckdb_writer`, one at a time
concurrency:
  pools:
    default_limit: 1
    granularity: op
  runs:
    max_concurrent_runs: 1
"""


def ensure_instance_config(dagster_home: Path) -> Path:
    dagster_home.mkdir(parents=True, exist_ok=True)
    path = dagster_home / "dagster.yaml"
    if not path.exists():
        path.write_text(DAGSTER_YAML, encoding="utf-8")
    return path
