"""The dbt CLI resource: the repository's project and profile (settings from environment
variables: METERLINE_WAREHOUSE names the warehouse file)."""

from __future__ import annotations

from dagster_dbt import DbtCliResource

from orchestration.config import DBT_PROJECT_DIR


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR))
