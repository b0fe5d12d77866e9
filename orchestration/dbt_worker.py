"""Several dbt invocations in one process (``dbt_runner.DbtProcess``, the Spark engine's pricing
lab): dbt's programmatic entry point, ``dbtRunner``, invoked once per request. dbt-spark's session
method gets its SparkSession with ``getOrCreate`` and never stops it, so the JVM and the session
start once for all the invocations of a process instead of once each (~17 s of process start,
Python imports and session start per invocation).

The protocol: one JSON list of dbt arguments per line on stdin; one JSON object per request,
``{"ok": bool, "error": str}``, on the file descriptor named by the first argument (dbt's console
output goes to stdout, which the parent sends to a log file). End of stdin ends the process."""

from __future__ import annotations

import json
import os
import sys


def serve(replies: int) -> None:
    from dbt.cli.main import dbtRunner

    with os.fdopen(replies, "w", encoding="utf-8") as out:
        for line in sys.stdin:
            args = json.loads(line)
            try:
                result = dbtRunner().invoke(args)
                reply = {
                    "ok": bool(result.success),
                    "error": "" if result.exception is None else repr(result.exception),
                }
            except BaseException as exc:  # reported to the parent, which raises DbtError
                reply = {"ok": False, "error": repr(exc)}
            sys.stdout.flush()
            out.write(json.dumps(reply) + "\n")
            out.flush()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
