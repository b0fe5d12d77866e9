"""Several dbt invocations in one process (``dbt_runner.DbtProcess``, the Spark engine's pricing
lab): dbt's programmatic entry point, ``dbtRunner``, invoked once per request. dbt-spark's session
method gets its SparkSession with ``getOrCreate`` and never stops it, so the JVM and the session
start once for all the invocations of a process instead of once each (~17 s of process start,
Python imports and session start per invocation).

The protocol: one JSON request per line on stdin, one JSON reply per request on the file
descriptor named by the first argument (dbt's console output goes to stdout, which the parent
sends to a log file). End of stdin ends the process. A request is either

- a list: dbt's arguments; the reply is ``{"ok": bool, "error": str}``;
- ``{"spark_sql": [[label, statement], ...], "fetch": statement or null}``: the statements, in
  order, in the SparkSession dbt made in this process (so with the profile's settings: ANSI,
  exact decimals, the metastore), then ``fetch``'s first row; the reply adds ``"row"``. Each
  statement's time goes to the output with its label; a failing statement stops the request,
  its label in ``error``. It needs an earlier dbt invocation that connected (a compile or a
  run); without one it fails rather than start a session without the profile's settings."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any


def _session() -> Any:
    from pyspark.sql import SparkSession

    session = SparkSession._instantiatedSession  # the one dbt-spark's getOrCreate made
    if session is None and os.environ.get("SPARK_REMOTE"):
        # Spark Connect: the process's default session, made by dbt-spark's getOrCreate
        from pyspark.sql.connect.session import SparkSession as RemoteSession

        session = RemoteSession._get_default_session()
    if session is None:
        raise RuntimeError("no SparkSession in the dbt process: no dbt invocation connected yet")
    return session


def run_spark_sql(statements: list[list[str]], fetch: str | None) -> dict[str, Any]:
    session = _session()
    for label, statement in statements:
        started = time.perf_counter()
        try:
            session.sql(statement).collect()
        except Exception as exc:  # the parent raises DbtError naming the label
            return {"ok": False, "error": f"{label} failed: {exc}"}
        print(f"spark sql {time.perf_counter() - started:7.2f} s  {label}", flush=True)
    row = None if fetch is None else list(session.sql(fetch).first() or [])
    return {"ok": True, "error": "", "row": row}


def serve(replies: int) -> None:
    from dbt.cli.main import dbtRunner

    with os.fdopen(replies, "w", encoding="utf-8") as out:
        for line in sys.stdin:
            request = json.loads(line)
            try:
                if isinstance(request, dict):
                    reply = run_spark_sql(request["spark_sql"], request.get("fetch"))
                else:
                    result = dbtRunner().invoke(request)
                    reply = {
                        "ok": bool(result.success),
                        "error": "" if result.exception is None else repr(result.exception),
                    }
            except BaseException as exc:  # reported to the parent, which raises DbtError
                reply = {"ok": False, "error": repr(exc)}
            sys.stdout.flush()
            out.write(json.dumps(reply, default=str) + "\n")
            out.flush()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
