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
    fails and ``check`` is set.

    ``at_warehouse``: dbt runs in the warehouse's directory and its profile names the warehouse by
    file name, the same for every data directory, so the invocation starts from the last parse of
    the same kind any data directory left (``dbt_project.partial_parse_seed``) instead of parsing
    the whole project (~3.5 s). It needs a target of its own (``--target-path`` or
    ``DBT_TARGET_PATH`` in ``extra_env``) and absolute paths in ``args``.

    Never call this while holding a DuckDB connection to the warehouse (one writer)."""
    env = s.dbt_env()
    if extra_env:
        env.update(extra_env)
    command = dbt_command(*args)
    if not at_warehouse:
        proc = subprocess.run(
            command, env=env, capture_output=True, text=True, cwd=str(DBT_PROJECT_DIR)
        )
    else:
        from orchestration.dbt_project import partial_parse_seed

        target = _arg(args, "--target-path") or env.get("DBT_TARGET_PATH")
        if not target or not Path(target).is_absolute():
            raise ValueError("run_dbt(at_warehouse=True) needs an absolute target path of its own")
        env["METERLINE_WAREHOUSE"] = s.warehouse.name
        named = Path(s.warehouse.name)
        with partial_parse_seed(Path(target), named, _arg(args, "--vars") or ""):
            proc = subprocess.run(
                command, env=env, capture_output=True, text=True, cwd=str(s.warehouse.parent)
            )
    if check and proc.returncode != 0:
        raise DbtError(
            f"dbt {' '.join(args)} failed (exit {proc.returncode}):\n"
            f"{proc.stdout[-8000:]}\n{proc.stderr[-4000:]}"
        )
    return proc


def dbt_into(s: Settings, target: Path, *args: str, at_warehouse: bool = True) -> None:
    """``dbt args`` on the warehouse of ``s`` with a target (and a log directory) of its own, so
    the main build's artifacts (run_results.json: stage times) stay as they are. Beside the
    warehouse (``run_dbt(at_warehouse=True)``) unless ``at_warehouse`` is false (Spark)."""
    run_dbt(
        s,
        *args,
        "--target-path",
        str(target),
        "--log-path",
        str(target / "logs"),
        at_warehouse=at_warehouse,
    )


def _arg(args: tuple[str, ...], flag: str) -> str | None:
    return args[args.index(flag) + 1] if flag in args else None
