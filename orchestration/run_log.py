"""The durable record of the last pipeline run: ``<data_dir>/.meterline/last_run.json``.

Written atomically at the start of a run (``status: running``) and at its end (``succeeded`` or
``failed``, per-stage wall times, every asset-check result). ``meterline close`` refuses unless the
last run succeeded with no failed blocking check; a run killed midway stays ``running``, so it
blocks closing until a run completes. The benchmark reads ``stages``. A run that finds nothing
new (``no_new_data``) carries the previous run's check results and snapshot forward.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from orchestration.config import Settings


@dataclass
class CheckResult:
    asset: str  # asset key, '/'-joined
    check: str
    passed: bool
    blocking: bool
    detail: str = ""


@dataclass
class StageResult:
    name: str
    seconds: float
    ok: bool
    detail: str = ""


@dataclass
class RunLog:
    status: str  # running | succeeded | failed
    started_at: str  # wall clock (audit only; never in a mart or export)
    finished_at: str | None = None
    stages: list[StageResult] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    error: str | None = None
    published: str | None = None
    # true when the run found no new or changed input and stopped (the last run's results stand)
    no_new_data: bool = False

    @property
    def failed_checks(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed and c.blocking]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["failed_checks"] = [asdict(c) for c in self.failed_checks]
        data["stage_seconds"] = {st.name: st.seconds for st in self.stages}
        return data


def run_log_path(s: Settings) -> Path:
    return s.data_dir / ".meterline" / "last_run.json"


def write_run_log(s: Settings, log: RunLog) -> Path:
    path = run_log_path(s)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(log.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_run_log(s: Settings) -> RunLog | None:
    path = run_log_path(s)
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return RunLog(
        status=data["status"],
        started_at=data["started_at"],
        finished_at=data.get("finished_at"),
        stages=[StageResult(**st) for st in data.get("stages", [])],
        checks=[CheckResult(**c) for c in data.get("checks", [])],
        error=data.get("error"),
        published=data.get("published"),
        no_new_data=bool(data.get("no_new_data", False)),
    )


LOCK_WAIT_ENV = "METERLINE_LOCK_WAIT_SECONDS"
LOCK_WAIT_SECONDS = 120.0  # bound on waiting for a killed run's child (31 s measured under load)
_DUCKDB_HOLDER = re.compile(r"Conflicting lock is held in (.*?) \(PID (\d+)\)")


class RunLock:
    """What ``run_lock`` yields: truthy when this process holds the lock; when not, ``reason``
    is one line saying why (another run, or a process still holding the warehouse file)."""

    def __init__(self, held: bool, reason: str = "", *, warehouse_busy: bool = False) -> None:
        self.held, self.reason, self.warehouse_busy = held, reason, warehouse_busy

    def __bool__(self) -> bool:
        return self.held

    def __repr__(self) -> str:
        return f"RunLock(held={self.held}, reason={self.reason!r})"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie has exited: it holds no file lock any more
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


def _command(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    words = [w.decode(errors="replace") for w in raw.split(b"\0") if w]
    if not words:
        return ""
    text = " ".join(" ".join([Path(words[0]).name, *words[1:]]).split())  # one line
    return text if len(text) <= 60 else text[:57] + "..."


def warehouse_holder(warehouse: Path) -> tuple[int, str] | None:
    """(pid, command) of another process holding DuckDB's lock on ``warehouse``, else None.
    Probes by opening it (DuckDB names the holder in its lock error); never creates it."""
    import duckdb

    from orchestration.warehouse import duckdb_config

    if not warehouse.exists():
        return None
    try:
        duckdb.connect(str(warehouse), config=duckdb_config()).close()
    except duckdb.ConnectionException:
        return None  # this process has it open already (another configuration): not another's
    except duckdb.IOException as exc:
        m = _DUCKDB_HOLDER.search(str(exc))
        if m is None:
            raise
        pid = int(m.group(2))
        return pid, _command(pid) or Path(m.group(1)).name
    return None


def _wait_for_warehouse(s: Settings, stale_pid: int | None, say: Callable[[str], None]) -> str:
    """Wait (bounded) until no other process holds the warehouse file. '' when free, else the
    one line that says who holds it."""
    holder = warehouse_holder(s.warehouse)
    if holder is None:
        return ""
    bound = float(os.environ.get(LOCK_WAIT_ENV) or LOCK_WAIT_SECONDS)
    pid, cmd = holder
    killed = f"left by a killed run (PID {stale_pid}) " if stale_pid else ""
    say(
        f"meterline: the warehouse is still held by process {pid} ({cmd}) {killed}"
        f"- waiting up to {bound:g} s for it to exit"
    )
    deadline = time.monotonic() + bound
    while True:
        if not _alive(pid):
            holder = warehouse_holder(s.warehouse)
            if holder is None:
                return ""
            pid, cmd = holder  # another holder: wait for it within the same bound
        if time.monotonic() >= deadline:
            return (
                f"the warehouse {s.warehouse} is held by process {pid} ({cmd}) {killed}"
                f"and it did not exit within {bound:g} s; try again when it ends "
                f"(or stop it: kill {pid})"
            )
        time.sleep(0.2)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@contextmanager
def run_lock(s: Settings, *, say: Callable[[str], None] = _stderr) -> Iterator[RunLock]:
    """One writer job (`meterline run` or `meterline close`) at a time per data directory.

    Yields a ``RunLock``: falsy (with a one-line ``reason``) when another run holds it. The OS
    releases the lock when its process dies, but a run killed in its parent can leave a child
    (dbt) holding DuckDB's lock on the warehouse for a while (issue 18 saw ~16 s). The lock file
    holds the PID of the run holding it, cleared when it ends: finding a PID there means the
    last run died. Either way, before yielding the lock, the warehouse file is probed: while
    another process holds it, this waits (at most ``METERLINE_LOCK_WAIT_SECONDS``, default 120)
    saying so in one line, then either proceeds or yields a falsy lock naming the process,
    never DuckDB's raw lock error."""
    path = s.data_dir / ".meterline" / "run.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="ascii") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            reason = f"another meterline run holds {s.data_dir}; try again when it ends"
            yield RunLock(False, reason)
            return
        busy, stale = "", None
        try:
            fh.seek(0)
            previous = fh.read().strip()
            stale = int(previous) if previous.isdigit() else None
            fh.seek(0)
            fh.truncate()
            fh.write(f"{os.getpid()}\n")
            fh.flush()
            busy = _wait_for_warehouse(s, stale, say)
            yield RunLock(not busy, busy, warehouse_busy=bool(busy))
        finally:
            fh.seek(0)
            fh.truncate()
            if busy and stale:  # still the dead run's child: the next attempt says so too
                fh.write(f"{stale}\n")
            fh.flush()
            fcntl.flock(fh, fcntl.LOCK_UN)
