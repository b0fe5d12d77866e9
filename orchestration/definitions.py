"""Dagster Definitions of meterline (``dagster dev -m orchestration.definitions``): assembled by
``orchestration/defs/build.py`` from ``orchestration/defs`` only.

One asset graph: ingest assets (keys = the dbt source keys) -> catalog -> dbt models (dbt tests as
asset checks) -> exports (invoice CSVs, published snapshot). Every DuckDB writer runs in the
``duckdb_writer`` pool (limit 1). ``meterline run`` executes the job ``meterline_pipeline`` of the
same definitions.
"""

from __future__ import annotations

from orchestration.defs.build import build_definitions

defs = build_definitions()
