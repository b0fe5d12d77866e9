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
    s: Settings, *args: str, check: bool = True, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``dbt <args>`` against the warehouse of ``s``; raise DbtError with dbt's output when it
    fails and ``check`` is set.

    Never call this while holding a DuckDB connection to the warehouse (one writer)."""
    env = s.dbt_env()
    if extra_env:
        env.update(extra_env)
    proc = subprocess.run(
        dbt_command(*args), env=env, capture_output=True, text=True, cwd=str(DBT_PROJECT_DIR)
    )
    if check and proc.returncode != 0:
        raise DbtError(
            f"dbt {' '.join(args)} failed (exit {proc.returncode}):\n"
            f"{proc.stdout[-8000:]}\n{proc.stderr[-4000:]}"
        )
    return proc
