"""The dbt CLI resource: the repository's project and profile (settings from environment
variables: METERLINE_WAREHOUSE names the warehouse file). The dbt executable is the one installed
next to this interpreter (through ``meterline-dbt``), so `.venv/bin/meterline` works without the
venv on PATH."""

from __future__ import annotations

import importlib.metadata
import shutil
import sys
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from dagster_dbt import DbtCliResource
from packaging import version

from orchestration.config import DBT_PROJECT_DIR


def dbt_executable() -> str:
    """``meterline-dbt`` (orchestration/dbt_in.py, installed with this package beside this
    interpreter): dbt itself, which can run in another directory (``--in DIR``, the pipeline's
    build: in the warehouse's directory)."""
    beside = Path(sys.executable).with_name("meterline-dbt")
    if beside.exists():
        return str(beside)
    found = shutil.which("meterline-dbt")
    if found is None:
        raise RuntimeError("meterline-dbt is not installed: run `make install` (uv sync)")
    return found


class MeterlineDbtCliResource(DbtCliResource):
    """dagster-dbt's resource without two steps it takes before every ``dbt build``, which the
    pipeline does not use (~4.5 s of every ``meterline run``, whatever the data size):

    - ``dbt --version`` in a subprocess (a whole dbt start-up, ~1.9 s) to learn the version of
      the executable: it is the dbt-core installed beside this interpreter (``dbt_executable``),
      so the installed package's version is the answer;
    - a dbt adapter built in this process (profile, project and adapter loading, ~3 s). It serves
      only ``fetch_row_counts()`` / ``fetch_column_metadata()`` on the event stream, which the
      dbt assets do not call; without it those would say so (the invocation's adapter is None).

    Both are private hooks of dagster-dbt 0.29 (pinned in pyproject.toml);
    tests/test_orchestration_definitions.py fails if they go away.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> Any:
        return None


def dbt_resource() -> MeterlineDbtCliResource:
    return MeterlineDbtCliResource(
        project_dir=str(DBT_PROJECT_DIR),
        profiles_dir=str(DBT_PROJECT_DIR),
        dbt_executable=dbt_executable(),
    )
