"""`meterline close` and `meterline run` never write the warehouse at the same time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestration.close import close_period
from orchestration.config import REPO_ROOT, Settings
from orchestration.run_log import LOCK_WAIT_ENV, _alive, run_lock, warehouse_holder
from orchestration.warehouse import connect


def test_close_refuses_while_a_run_holds_the_lock(tmp_settings: Settings) -> None:
    messages: list[str] = []
    with run_lock(tmp_settings) as locked:
        assert locked
        with run_lock(tmp_settings) as second:
            assert not second
        assert not close_period(tmp_settings, "2026-10", [], echo=messages.append)
    assert "a meterline run is in progress" in messages[0]
    assert not tmp_settings.warehouse.exists()  # refused before opening the warehouse
    with run_lock(tmp_settings) as again:  # released
        assert again


# --- a run killed in its parent while its child still holds the warehouse ---------------------

# The parent takes the run lock and starts a child that opens the warehouse read-write (DuckDB's
# file lock, as dbt holds it) and keeps it for HOLD seconds; the test kills the parent with
# SIGKILL, as a lost terminal or an OOM kill would, and leaves the child running.
PARENT = """
import subprocess, sys, time
from pathlib import Path
from orchestration.config import Settings
from orchestration.run_log import run_lock
data, warehouse, hold, ready = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
s = Settings(data_dir=Path(data), warehouse=Path(warehouse))
with run_lock(s) as locked:
    assert locked
    child = subprocess.Popen([sys.executable, "-c", CHILD, warehouse, hold, ready])
    print(child.pid, flush=True)
    time.sleep(600)
"""
CHILD = """
import sys, time
from pathlib import Path
import duckdb
con = duckdb.connect(sys.argv[1])
con.execute("create or replace table held as select 1 as x")
Path(sys.argv[3]).write_text("ready")
time.sleep(float(sys.argv[2]))
con.close()
"""


def _kill_parent_leaving_child(s: Settings, tmp: Path, hold: float) -> tuple[int, int]:
    """(killed parent pid, child pid still holding the warehouse)."""
    import duckdb

    duckdb.connect(str(s.warehouse)).close()
    ready = tmp / "child_ready"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"CHILD = {CHILD!r}\n{PARENT}",
            str(s.data_dir),
            str(s.warehouse),
            str(hold),
            str(ready),
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert parent.stdout is not None
    child_pid = int(parent.stdout.readline())
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert time.monotonic() < deadline, "the child never opened the warehouse"
        time.sleep(0.05)
    os.kill(parent.pid, signal.SIGKILL)  # the parent only: its child keeps the file lock
    parent.wait()
    assert _alive(child_pid)
    return parent.pid, child_pid


def test_a_run_after_a_killed_parent_waits_for_its_child_then_runs(
    tmp_settings: Settings, tmp_path: Path
) -> None:
    s = tmp_settings
    parent_pid, child_pid = _kill_parent_leaving_child(s, tmp_path, hold=4)
    said: list[str] = []
    started = time.monotonic()
    with run_lock(s, say=said.append) as locked:
        waited = time.monotonic() - started
        assert locked
        assert not _alive(child_pid)
        with connect(s.warehouse) as con:  # no DuckDB lock error: the child has let go
            assert con.execute("select x from held").fetchall() == [(1,)]
    assert 1.0 < waited < 30
    assert len(said) == 1
    assert said[0].startswith(f"meterline: the warehouse is still held by process {child_pid} ")
    assert f"left by a killed run (PID {parent_pid})" in said[0]
    assert said[0].endswith("waiting up to 120 s for it to exit")
    assert "\n" not in said[0]
    # the lock file is cleared at the end: the next run finds no dead run and waits for nothing
    assert (s.data_dir / ".meterline" / "run.lock").read_text() == ""
    said.clear()
    with run_lock(s, say=said.append) as again:
        assert again
    assert said == []


@pytest.mark.filterwarnings("ignore::Warning")  # third-party deprecations on importing dagster
def test_a_child_that_outlives_the_bound_is_named_in_one_line(
    tmp_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    s = tmp_settings
    monkeypatch.setenv(LOCK_WAIT_ENV, "1.5")
    parent_pid, child_pid = _kill_parent_leaving_child(s, tmp_path, hold=120)
    try:
        said: list[str] = []
        with run_lock(s, say=said.append) as locked:
            assert not locked
            assert locked.warehouse_busy
        # the holder's command line, on one line, cut at 60 characters
        command = " ".join(f"{Path(sys.executable).name} -c {CHILD}".split())[:57] + "..."
        assert said == [
            f"meterline: the warehouse is still held by process {child_pid} ({command}) "
            f"left by a killed run (PID {parent_pid}) - waiting up to 1.5 s for it to exit"
        ]
        assert locked.reason == (
            f"the warehouse {s.warehouse} is held by process {child_pid} ({command}) "
            f"left by a killed run (PID {parent_pid}) and it did not exit within 1.5 s; "
            f"try again when it ends (or stop it: kill {child_pid})"
        )
        assert "\n" not in locked.reason and "IO Error" not in locked.reason
        # `meterline close` says the same line instead of DuckDB's raw lock error
        messages: list[str] = []
        assert not close_period(s, "2026-10", [], echo=messages.append)
        assert len(messages) == 1 and f"held by process {child_pid}" in messages[0]
        assert "Conflicting lock" not in messages[0]
        # and so does `meterline run` (stderr: the wait, then the refusal), having written nothing
        from orchestration.pipeline import run_pipeline

        capsys.readouterr()
        assert not run_pipeline(s, progress=False)
        out = capsys.readouterr()
        assert out.err.splitlines() == [said[0], locked.reason]
        assert "Conflicting lock" not in out.out + out.err
        assert not (s.data_dir / ".meterline" / "last_run.json").exists()
    finally:
        os.kill(child_pid, signal.SIGKILL)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::Warning")
def test_meterline_run_killed_in_its_parent_the_next_run_waits_for_dbt(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """The issue's case: `meterline run` SIGKILLed alone while dbt builds; dbt (its child) keeps
    DuckDB's lock for a while. The next run waits for it, says so in one line, and succeeds."""
    from orchestration.pipeline import run_pipeline
    from tests.test_orchestration_kill import new_settings, start_run, wait_for_dbt_building

    s = new_settings(tmp_path)
    proc = start_run(s, tmp_path / "killed_run.log")
    try:
        wait_for_dbt_building(s, proc, timeout=900)
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # the parent only, not its process group
        proc.wait()
    holder = warehouse_holder(s.warehouse)  # dbt, unless it already noticed and exited
    capfd.readouterr()
    assert run_pipeline(s, progress=False)
    err = capfd.readouterr().err
    waits = [line for line in err.splitlines() if line.startswith("meterline: the warehouse")]
    if holder is not None:
        pid, command = holder
        assert "dbt" in command
        assert waits == [
            f"meterline: the warehouse is still held by process {pid} ({command}) left by a "
            f"killed run (PID {proc.pid}) - waiting up to 120 s for it to exit"
        ]
    else:
        assert waits == []
    assert "Conflicting lock" not in err
    print(f"dbt still held the warehouse after the kill: {holder is not None}")
