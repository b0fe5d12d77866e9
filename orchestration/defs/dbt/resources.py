"""The dbt CLI resource: the repository's project and profile (settings from environment
variables: METERLINE_WAREHOUSE names the warehouse file). The dbt executable is the one installed
next to this interpreter, so `.venv/bin/meterline` works without the venv on PATH."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtCliResource

from orchestration.config import DBT_PROJECT_DIR


def dbt_executable() -> str:
    beside = Path(sys.executable).with_name("dbt")
    if beside.exists():
        return str(beside)
    return shutil.which("dbt") or "dbt"


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(
        project_dir=str(DBT_PROJECT_DIR),
        profiles_dir=str(DBT_PROJECT_DIR),
        dbt_executable=dbt_executable(),
    )
