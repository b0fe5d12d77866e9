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
from collections.abc import Iterator
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


@contextmanager
def run_lock(s: Settings) -> Iterator[bool]:
    """One writer job (`meterline run` or `meterline close`) at a time per data directory;
    yields False when another holds it. The OS releases it if the process dies."""
    path = s.data_dir / ".meterline" / "run.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
