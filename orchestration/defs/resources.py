"""Resources shared by every area: the meterline settings and the DuckDB writer pool."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from orchestration.config import Settings, engine_from_env, settings

# Every asset or check that writes the DuckDB warehouse runs in this pool. Its limit is 1: DuckDB
# allows one writer process per file. `meterline run` executes in-process (one step at a time);
# for `dagster dev` the CLI writes `concurrency: pools: default_limit: 1` into DAGSTER_HOME's
# dagster.yaml (orchestration/dagster_instance.py).
DUCKDB_WRITER_POOL = "duckdb_writer"


class MeterlineResource(dg.ConfigurableResource):
    """Where the data lives, and how to build. ``meterline run`` configures it with the run's
    settings (``for_settings``); left empty (``dagster dev``, schedules) the fields resolve at
    execution time from $METERLINE_DATA_DIR / $METERLINE_WAREHOUSE, else ./data."""

    data_dir: str = ""
    warehouse: str = ""
    full_refresh: bool = False  # rebuild dbt's incremental models from nothing
    engine: str = ""  # duckdb | spark; empty: $METERLINE_ENGINE (default duckdb)

    @classmethod
    def for_settings(cls, s: Settings, *, full_refresh: bool = False) -> MeterlineResource:
        return cls(
            data_dir=str(s.data_dir),
            warehouse=str(s.warehouse),
            full_refresh=full_refresh,
            engine=s.engine,
        )

    def settings(self) -> Settings:
        engine = self.engine or engine_from_env()
        if self.data_dir and self.warehouse:
            return Settings(
                data_dir=Path(self.data_dir), warehouse=Path(self.warehouse), engine=engine
            )
        return settings(self.data_dir or None, engine=engine)
