"""The dashboard on the real pipeline: a small data directory (PRICING.md's worked invoice plus two
customers) goes through `meterline run` (ingest, checks, catalog, dbt, publish); every page is
read through AppTest and must show what the published marts hold. Then the dashboard is read over
and over while `meterline run` rebuilds the warehouse after a period close: every read succeeds,
shows either the old snapshot or the new one, and the downloads serve the export files' bytes."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from streamlit.runtime.memory_media_file_storage import _calculate_file_id
from streamlit.testing.v1 import AppTest

from dashboards import data_access as da
from dashboards import formatting as fmt
from orchestration.config import REPO_ROOT, Settings, settings
from tests.test_dashboard_app import APP, frame, metrics, open_page, texts

pytestmark = pytest.mark.slow
rating = pytest.importorskip("tests.support.rating")


def _scenario():  # type: ignore[no-untyped-def]
    from tests.test_dashboard_real_build import _scenario as scenario

    return scenario()


@pytest.fixture(scope="module")
def pipeline_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from orchestration.pipeline import run_pipeline

    data = tmp_path_factory.mktemp("dash_pipeline") / "data"
    data.mkdir()
    rating.write_data_dir(data, _scenario())
    assert run_pipeline(settings(data))
    return data


@pytest.fixture
def app_env(pipeline_data: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("METERLINE_DATA_DIR", str(pipeline_data))
    monkeypatch.delenv("METERLINE_WAREHOUSE", raising=False)
    return settings(pipeline_data)


def _mart(s: Settings, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(s.published_warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_pages_on_the_pipeline_snapshot(app_env: Settings) -> None:
    s = app_env
    at = open_page("invoices")
    at.selectbox(key="customer_id").set_value("cus_northwind").run()
    m = metrics(at)
    assert (m["Subtotal"], m["Credits"], m["Tax"], m["Total"]) == (
        "$1,000.00",
        "-$100.00",
        "$180.00",
        "$1,080.00",
    )
    assert "unpriced usage: resolved_tickets" in frame(at, "Customer", "Why blocked").to_csv()

    at = open_page("overview", at)
    revenue, cogs, margin = _mart(
        s,
        "select sum(revenue), sum(cogs_total), sum(gross_margin) "
        "from marts.fct_customer_margin where period = '2026-10'",
    )[0]
    assert revenue == Decimal("1119.00")  # 1,000 - 100 promotional + 120 + 99
    m = metrics(at)
    assert m["Revenue"] == "$1,119.00"
    assert m["COGS"] == fmt.money(cogs)  # type: ignore[arg-type]
    assert m["Gross margin"] == fmt.money(margin)  # type: ignore[arg-type]

    at = open_page("cogs", at)
    breakdown = _mart(
        s, "select sum(cogs_total) from marts.fct_customer_cogs_breakdown where period = '2026-10'"
    )[0][0]
    if breakdown is not None:
        assert metrics(at)["COGS"] == fmt.money(breakdown)  # type: ignore[arg-type]
    at = open_page("contracts", at)
    contracts = _mart(s, "select count(distinct contract_id) from marts.fct_contract_progress")
    if contracts[0][0]:
        assert metrics(at)["Contracts"] == f"{contracts[0][0]:,}"
    at = open_page("alerts", at)
    crossed = _mart(
        s,
        "select count(*) from marts.fct_alerts "
        "where period = '2026-10' and alert_type = 'threshold'",
    )[0][0]
    assert (
        crossed
        == _mart(
            s, "select count(*) from marts.fct_spend_alerts where period = '2026-10' and is_crossed"
        )[0][0]
    )
    assert metrics(at)["Thresholds crossed"] == f"{crossed:,}"
    at = open_page("data_quality", at)
    m = metrics(at)
    assert m["Last run"] == "succeeded"
    loaded = frame(at, "Source", "Latest file arrived")
    assert "usage" in set(loaded["Source"])
    at.selectbox(key="customer_id").set_value("cus_northwind").run()
    at = open_page("customer", at)
    assert metrics(at)["Invoice total"] == "$1,080.00"
    # every mart the pages read is built by the pipeline, with the columns the pages read
    for page in ("overview", "invoices", "customer", "cogs", "contracts", "alerts", "data_quality"):
        at = open_page(page, at)
        assert "Not available yet" not in texts(at), (page, texts(at))


def _poll(expected_total: Decimal) -> str:
    """One dashboard read: the northwind invoice of 2026-10; returns its status."""
    snap = da.snapshot()
    table = da.invoices(snap, "2026-10")
    row = table.filter(table["customer_id"] == "cus_northwind").row(0, named=True)
    assert row["total"] == expected_total
    return str(row["status"])


def test_dashboard_keeps_working_while_meterline_run_rebuilds(
    pipeline_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestration.close import close_period

    data = tmp_path / "data"
    shutil.copytree(pipeline_data, data)
    s = settings(data)
    monkeypatch.setenv("METERLINE_DATA_DIR", str(data))
    monkeypatch.delenv("METERLINE_WAREHOUSE", raising=False)
    # close October (northwind and acme get numbers; cus_blocked is excluded): the next run
    # publishes issued invoices
    assert close_period(s, "2026-10", ["cus_blocked"], force=True)
    exports = s.exports_dir / "invoices" / "2026-10"
    assert (exports / "INV-202610-00002.csv").is_file()
    before = da.snapshot()

    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestration.cli", "run", "--data-dir", str(data)],
        cwd=str(REPO_ROOT),
        env=s.dbt_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    statuses: list[str] = []
    app_runs = 0
    try:
        while proc.poll() is None:
            statuses.append(_poll(Decimal("1080.00")))
            if app_runs < 5:
                at = open_page("invoices")  # asserts no exception box
                assert "$1,299.00" in metrics(at).values(), metrics(at)
                app_runs += 1
            time.sleep(0.2)
    finally:
        out = proc.communicate(timeout=600)[0].decode(errors="replace")
    assert proc.returncode == 0, out
    statuses.append(_poll(Decimal("1080.00")))
    after = da.snapshot()
    assert after.token != before.token
    assert statuses[0] == "draft" and statuses[-1] == "issued", statuses
    assert len(statuses) > 10  # the dashboard was read all along the run
    assert set(statuses) == {"draft", "issued"}

    # the new snapshot: issued, numbered, and the downloads are the export files' bytes.
    # Closing October opens November drafts; October, closed, stays the default period
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    at = open_page("invoices", at)
    assert at.selectbox(key="period").value == "2026-10"
    at.selectbox(key="customer_id").set_value("cus_northwind").run()
    assert metrics(at)["Total"] == "$1,080.00"
    buttons = {b.label: b.proto.url for b in at.get("download_button")}
    csv_bytes = (exports / "INV-202610-00002.csv").read_bytes()
    summary = (exports / "summary.csv").read_bytes()
    assert buttons["Download INV-202610-00002.csv"].endswith(
        "/" + _calculate_file_id(csv_bytes, "text/csv", "INV-202610-00002.csv") + ".csv"
    )
    assert buttons["Download summary.csv (2026-10)"].endswith(
        "/" + _calculate_file_id(summary, "text/csv", "summary-2026-10.csv") + ".csv"
    )
    assert b"1080.00" in summary
