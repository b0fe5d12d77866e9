"""Run dbt as a subprocess bound to one warehouse. Used by the CLI, tests and the bench; the
Dagster dbt assets use dagster-dbt's DbtCliResource with the same project and profile."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from orchestration.config import DBT_PROJECT_DIR, Settings


class DbtError(RuntimeError):
    pass


def dbt_command(*args: str) -> list[str]:
    dbt = Path(sys.executable).with_name("dbt")
    return [
        str(dbt),
        *args,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
    ]


def run_dbt(
    s: Settings,
    *args: str,
    check: bool = True,
    extra_env: dict[str, str] | None = None,
    at_warehouse: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run ``dbt <args>`` against the warehouse of ``s``; raise DbtError with dbt's output when it
    fails and ``check`` is set. ``at_warehouse``: dbt runs in the warehouse's directory and its
    profile names the warehouse by file name, the same for every data directory, so one data
    directory's parse of the project serves the next (``dbt_project.partial_parse_seed``; every
    path in ``args`` must then be absolute).

    Never call this while holding a DuckDB connection to the warehouse (one writer)."""
    env = s.dbt_env()
    cwd = DBT_PROJECT_DIR
    if at_warehouse:
        env["METERLINE_WAREHOUSE"] = s.warehouse.name
        cwd = s.warehouse.parent
    if extra_env:
        env.update(extra_env)
    proc = subprocess.run(dbt_command(*args), env=env, capture_output=True, text=True, cwd=str(cwd))
    if check and proc.returncode != 0:
        raise DbtError(
            f"dbt {' '.join(args)} failed (exit {proc.returncode}):\n"
            f"{proc.stdout[-8000:]}\n{proc.stderr[-4000:]}"
        )
    return proc
