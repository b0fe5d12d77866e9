"""The dbt project as Dagster assets. ``dbt build`` runs models and their tests; dbt tests are
asset checks (error severity = blocking), so a failing test stops everything downstream
(publishing and the exports). Needs ``dbt_project/target/manifest.json`` (``make manifest``).

dbt's target directory is per data directory (``<data_dir>/.meterline/dbt_target``): runs on
different warehouses never share artifacts, partial parsing is reused from one run to the next,
and ``meterline run`` reads the per-model timings of ``run_results.json`` from there."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.config import DBT_PROJECT_DIR, Settings
from orchestration.defs.dbt.translator import MeterlineTranslator
from orchestration.defs.resources import DUCKDB_WRITER_POOL, MeterlineResource

DBT_MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
# the manifest version these assets were built from (the pipeline reloads them when it changes)
MANIFEST_MTIME = DBT_MANIFEST.stat().st_mtime_ns if DBT_MANIFEST.exists() else None


def dbt_target_path(s: Settings) -> Path:
    return s.data_dir / ".meterline" / "dbt_target"


@dbt_assets(
    manifest=DBT_MANIFEST,
    dagster_dbt_translator=MeterlineTranslator(),
    name="meterline_dbt",
    pool=DUCKDB_WRITER_POOL,
)
def meterline_dbt_assets(
    context: AssetExecutionContext, dbt: DbtCliResource, meterline: MeterlineResource
) -> Iterator[Any]:
    target = dbt_target_path(meterline.settings())
    target.mkdir(parents=True, exist_ok=True)
    (target / "run_results.json").unlink(missing_ok=True)
    # dbt unit tests check the SQL logic on fixed inputs, not the data: they run in `make test`
    # (tests/test_rating_*), not in every production build (8 of them cost ~10% of a build)
    yield from dbt.cli(
        ["build", "--exclude-resource-type", "unit_test"], context=context, target_path=target
    ).stream()


DBT_ASSETS: list[dg.AssetsDefinition] = [meterline_dbt_assets]
