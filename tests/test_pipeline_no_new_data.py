"""A run with nothing new verifies that and stops: the run log says ``no_new_data``, the warehouse,
the snapshot and the check results are the last run's. Anything that could change a mart or an
export makes it run: a new file, a changed file, a `meterline close` (it writes the ledger). A full
refresh runs anyway, gives identical marts, and (the raw rows being those validated before)
re-uses the Great Expectations results without importing Great Expectations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.close import close_period
from orchestration.config import REPO_ROOT, Settings
from orchestration.pipeline import VERIFY, run_pipeline
from orchestration.run_log import read_run_log
from tests.support.pipeline import add_late_event, make_data_dir, mart_checksums, query

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::Warning")]

FULL_REFRESH_CHILD = """
import json, sys
from pathlib import Path
from orchestration.config import Settings
from orchestration.pipeline import run_pipeline
data = Path(sys.argv[1])
ok = run_pipeline(
    Settings(data_dir=data, warehouse=data / "warehouse.duckdb"), progress=False, full_refresh=True
)
print(json.dumps({"ok": ok, "great_expectations": "great_expectations" in sys.modules}))
"""


def stat(p: Path) -> tuple[int, int]:
    st = p.stat()
    return st.st_size, st.st_mtime_ns


def stage_names(s: Settings) -> list[str]:
    log = read_run_log(s)
    assert log is not None
    return [st.name for st in log.stages]


def test_no_new_data_stops_and_changes_run(tmp_path: Path) -> None:
    data = make_data_dir(tmp_path / "data")
    s = Settings(data_dir=data, warehouse=data / "warehouse.duckdb")
    assert run_pipeline(s, progress=False)
    built = read_run_log(s)
    assert built is not None and not built.no_new_data
    assert "rating" in stage_names(s) and "publish" in stage_names(s)
    marts = mart_checksums(s)
    outputs = {p: stat(p) for p in (s.warehouse, s.published_warehouse)}

    # nothing new: verified and stopped; nothing written but the run log
    assert run_pipeline(s, progress=False)
    log = read_run_log(s)
    assert log is not None and log.status == "succeeded" and log.no_new_data
    assert stage_names(s) == [VERIFY]
    assert log.stages[0].detail == "no new data: 8 input files unchanged"
    assert log.checks == built.checks and len(log.checks) > 100  # the last results stand
    assert log.published == built.published
    assert {p: stat(p) for p in outputs} == outputs

    # a file rewritten with the same bytes (new mtime) is still nothing new
    f = next((data / "raw" / "usage").iterdir())
    f.write_bytes(f.read_bytes())
    os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 10**9))
    assert run_pipeline(s, progress=False)
    assert stage_names(s) == [VERIFY]

    # a full refresh runs anyway: identical marts; the GE suites' results stand (same rows)
    child = subprocess.run(
        [sys.executable, "-c", FULL_REFRESH_CHILD, str(data)],
        cwd=REPO_ROOT,
        env={k: v for k, v in os.environ.items() if k != "METERLINE_WAREHOUSE"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(child.stdout.strip().splitlines()[-1]) == {
        "ok": True,
        "great_expectations": False,
    }
    assert "rating" in stage_names(s)
    log = read_run_log(s)
    assert log is not None and not log.no_new_data and not log.failed_checks
    assert mart_checksums(s) == marts

    # closing writes the ledger: the next run rebuilds (the invoices show issued)
    assert close_period(s, "2026-10", ["cus_globex"], echo=lambda _: None)
    assert run_pipeline(s, progress=False)
    assert "invoices" in stage_names(s)
    issued = query(
        s,
        "select invoice_number from marts.fct_invoices "
        "where customer_id = 'cus_acme' and period = '2026-10'",
    )
    assert issued == [("INV-202610-00001",)]
    assert run_pipeline(s, progress=False)
    assert stage_names(s) == [VERIFY]

    # a new usage file: a run
    add_late_event(data)
    assert run_pipeline(s, progress=False)
    assert "rating" in stage_names(s)
    log = read_run_log(s)
    assert log is not None and not log.no_new_data
