"""Run dbt as a subprocess bound to one warehouse. Used by the CLI, tests and the bench; the
Dagster dbt assets use dagster-dbt's DbtCliResource with the same project and profile."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import IO, Any

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
    run_dbt(s, *args, *into_args(target), at_warehouse=at_warehouse)


def into_args(target: Path) -> tuple[str, ...]:
    """dbt's arguments for a target directory of its own, its log directory inside it."""
    return ("--target-path", str(target), "--log-path", str(target / "logs"))


class DbtProcess:
    """dbt invocations of one Settings in one long-lived process (``orchestration.dbt_worker``),
    for a run of invocations on the Spark engine: the JVM and the SparkSession start once instead
    of once per invocation. ``into`` is ``dbt_into(..., at_warehouse=False)``: the same arguments,
    environment and working directory, and a failure raises DbtError with dbt's output.
    ``spark_sql`` executes SQL in the SparkSession dbt made there (the pricing lab's compiled
    chain). The process starts with the first request and ends with the ``with`` block; its
    console output goes to ``log``."""

    def __init__(self, s: Settings, log: Path) -> None:
        self.s, self.log = s, log
        self._proc: subprocess.Popen[str] | None = None
        self._replies: IO[str] | None = None

    def __enter__(self) -> DbtProcess:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        """The process's id while it runs (it starts with the first invocation)."""
        return None if self._proc is None else self._proc.pid

    def _start(self) -> subprocess.Popen[str]:
        if self._proc is None:
            read, write = os.pipe()
            self.log.parent.mkdir(parents=True, exist_ok=True)
            with self.log.open("w", encoding="utf-8") as out:
                self._proc = subprocess.Popen(
                    [sys.executable, "-m", "orchestration.dbt_worker", str(write)],
                    stdin=subprocess.PIPE,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    text=True,
                    env={**self.s.dbt_env(), "DBT_USE_COLORS": "false"},  # a log file
                    cwd=str(DBT_PROJECT_DIR),
                    pass_fds=(write,),
                )
            os.close(write)
            self._replies = os.fdopen(read, "r", encoding="utf-8")
        return self._proc

    def into(self, target: Path, *args: str) -> None:
        full = [*args, *into_args(target)]
        self._request(dbt_command(*full)[1:], f"dbt {' '.join(full)}")

    def spark_sql(
        self, statements: list[tuple[str, str]], fetch: str | None = None
    ) -> list[object] | None:
        """Execute ``(label, statement)`` pairs in order in the SparkSession an earlier
        invocation of this process connected (so with the profile's settings), then return the
        first row of ``fetch``. A failing statement raises DbtError naming its label."""
        request = {"spark_sql": [list(pair) for pair in statements], "fetch": fetch}
        reply = self._request(request, "Spark SQL in the dbt process")
        return reply.get("row")

    def _request(self, request: object, what: str) -> dict[str, Any]:
        proc = self._start()
        assert proc.stdin is not None and self._replies is not None
        start = self.log.stat().st_size
        try:
            proc.stdin.write(json.dumps(request) + "\n")
            proc.stdin.flush()
            line = self._replies.readline()
        except BrokenPipeError:
            line = ""
        reply = json.loads(line) if line else {"ok": False, "error": "the dbt process exited"}
        if not reply["ok"]:
            with self.log.open(encoding="utf-8", errors="replace") as f:
                f.seek(start)
                output = f.read()
            raise DbtError(
                f"{what} failed ({reply['error'] or 'see its output'}):\n{output[-8000:]}"
            )
        return reply

    def close(self) -> None:
        if self._proc is not None and self._replies is not None:
            assert self._proc.stdin is not None
            with contextlib.suppress(BrokenPipeError):  # it exited already
                self._proc.stdin.close()
            self._proc.wait()
            self._replies.close()
            self._proc = self._replies = None


def _arg(args: tuple[str, ...], flag: str) -> str | None:
    return args[args.index(flag) + 1] if flag in args else None
