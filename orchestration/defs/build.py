"""Assembles the Dagster Definitions of meterline from ``orchestration/defs``.

``build_definitions()`` (what ``orchestration/definitions.py`` exposes to ``dagster dev``) reads
the settings from the environment at execution time; ``meterline run`` calls it with its settings
(the ``meterline`` resource's config) and a freshly parsed dbt manifest, and executes the one
pipeline job of the result."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from orchestration.config import Settings
from orchestration.defs.catalog.assets import CATALOG_ASSETS
from orchestration.defs.controls.assets import build_controls_assets
from orchestration.defs.dbt.assets import DBT_ASSETS, build_dbt_assets
from orchestration.defs.dbt.resources import dbt_resource
from orchestration.defs.exports.assets import build_export_assets
from orchestration.defs.ingest.assets import INGEST_ASSETS
from orchestration.defs.ingest.sensors import PIPELINE_JOB_NAME, SENSORS
from orchestration.defs.ledger.assets import CLOSE_JOB_NAME, LEDGER_ASSETS
from orchestration.defs.quality.checks import RAW_CHECKS
from orchestration.defs.quality.ge_checks import ge_checks
from orchestration.defs.quality.sensors import RUN_LOG_SENSORS
from orchestration.defs.resources import MeterlineResource
from orchestration.defs.scenarios.assets import SCENARIO_ASSETS
from orchestration.defs.schedules.schedules import JOBS, SCHEDULES

__all__ = ["CLOSE_JOB_NAME", "PIPELINE_JOB_NAME", "build_definitions"]


def build_definitions(
    manifest: Mapping[str, Any] | Path | None = None,
    s: Settings | None = None,
    *,
    full_refresh: bool = False,
) -> dg.Definitions:
    """One asset graph: ingest assets (keys = the dbt source keys) -> catalog -> dbt models (dbt
    tests as asset checks) -> exports (invoice CSVs, published snapshot). Every DuckDB writer
    runs in the ``duckdb_writer`` pool (limit 1). ``manifest``: the dbt manifest to build the dbt
    assets from (default: target/manifest.json as it was at import); ``s``: the settings the
    resources carry (default: the environment's, resolved at execution time)."""
    dbt = DBT_ASSETS if manifest is None else [build_dbt_assets(manifest)]
    upstream = [
        key for a in (*INGEST_ASSETS, *CATALOG_ASSETS, *dbt, *SCENARIO_ASSETS) for key in a.keys
    ]
    meterline = (
        MeterlineResource.for_settings(s, full_refresh=full_refresh)
        if s is not None
        else MeterlineResource(full_refresh=full_refresh)
    )
    return dg.Definitions(
        assets=[
            *INGEST_ASSETS,
            *CATALOG_ASSETS,
            *dbt,
            *SCENARIO_ASSETS,
            *build_export_assets(upstream),
            *build_controls_assets([key for a in dbt for key in a.keys]),
            *LEDGER_ASSETS,
        ],
        asset_checks=[*RAW_CHECKS, *ge_checks()],
        jobs=JOBS,
        schedules=SCHEDULES,
        sensors=[*SENSORS, *RUN_LOG_SENSORS],
        resources={"meterline": meterline, "dbt": dbt_resource()},
    )
