"""Dagster Definitions of meterline: assembles ``orchestration/defs`` only.

One asset graph: ingest assets (keys = the dbt source keys) -> catalog -> dbt models (dbt tests as
asset checks) -> exports (invoice CSVs, published snapshot). Every DuckDB writer runs in the
``duckdb_writer`` pool (limit 1).
"""

from __future__ import annotations

import dagster as dg

from orchestration.defs.catalog.assets import CATALOG_ASSETS
from orchestration.defs.dbt.assets import DBT_ASSETS
from orchestration.defs.dbt.resources import dbt_resource
from orchestration.defs.exports.assets import build_export_assets
from orchestration.defs.ingest.assets import INGEST_ASSETS
from orchestration.defs.ingest.sensors import SENSORS
from orchestration.defs.quality.checks import RAW_CHECKS
from orchestration.defs.quality.ge_checks import ge_checks
from orchestration.defs.quality.sensors import RUN_LOG_SENSORS
from orchestration.defs.resources import MeterlineResource
from orchestration.defs.scenarios.assets import SCENARIO_ASSETS
from orchestration.defs.schedules.schedules import JOBS, SCHEDULES

_UPSTREAM = [
    key for a in (*INGEST_ASSETS, *CATALOG_ASSETS, *DBT_ASSETS, *SCENARIO_ASSETS) for key in a.keys
]

defs = dg.Definitions(
    assets=[
        *INGEST_ASSETS,
        *CATALOG_ASSETS,
        *DBT_ASSETS,
        *SCENARIO_ASSETS,
        *build_export_assets(_UPSTREAM),
    ],
    asset_checks=[*RAW_CHECKS, *ge_checks()],
    jobs=JOBS,
    schedules=SCHEDULES,
    sensors=[*SENSORS, *RUN_LOG_SENSORS],
    resources={"meterline": MeterlineResource(), "dbt": dbt_resource()},
)
