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


def _arg(args: tuple[str, ...], flag: str) -> str | None:
    return args[args.index(flag) + 1] if flag in args else None


def parse_project(s: Settings) -> None:
    """``dbt parse`` into the project's target (``target/manifest.json``, which ``@dbt_assets``
    reads), parsed as the pipeline's build parses on DuckDB: beside the warehouse of ``s``, named
    by its file name, with the build's vars (``dbt_project.warehouse_vars``). Its parse is then
    the seed of every new data directory's first build (``partial_parse_seed``; dagster-dbt also
    copies ``target/partial_parse.msgpack`` into a target that has none), so not even the first
    run parses the whole project. Then the parse of the pricing lab's compile of the billing
    chain, whose vars differ (``scenarios.seed_chain_parse``). Parsing opens no warehouse: only
    its directory must exist."""
    from orchestration.dbt_project import DBT_MANIFEST, warehouse_vars

    target = DBT_MANIFEST.parent
    s.warehouse.parent.mkdir(parents=True, exist_ok=True)
    run_dbt(
        s,
        "parse",
        "--quiet",
        "--vars",
        warehouse_vars(Path(s.warehouse.name)),
        "--target-path",
        str(target),
        "--log-path",
        str(target / "logs"),
        at_warehouse=True,
    )
    from orchestration.scenarios import seed_chain_parse

    seed_chain_parse(s)  # and the pricing lab's compile of the billing chain (its own vars)


if __name__ == "__main__":  # `make manifest`
    from orchestration.config import settings

    parse_project(settings(engine="duckdb"))
