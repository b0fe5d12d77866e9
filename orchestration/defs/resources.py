"""Resources shared by every area: the meterline settings and the DuckDB writer pool."""

from __future__ import annotations

import dagster as dg

from orchestration.config import Settings, settings

# Every asset or check that writes the DuckDB warehouse runs in this pool. Its limit is 1: DuckDB
# allows one writer process per file. `meterline run` executes in-process (one step at a time);
# for `dagster dev` the CLI writes `concurrency: pools: default_limit: 1` into DAGSTER_HOME's
# dagster.yaml (orchestration/defs/schedules/instance.py).
DUCKDB_WRITER_POOL = "duckdb_writer"


class MeterlineResource(dg.ConfigurableResource):
    """Where the data lives. Empty fields resolve at execution time from $METERLINE_DATA_DIR /
    $METERLINE_WAREHOUSE (the same variables dbt's profile reads), else ./data."""

    data_dir: str = ""

    def settings(self) -> Settings:
        return settings(self.data_dir or None)
