"""dashboards.data_access: read-only per-query connections to the published snapshot, clear
errors (missing file, file being replaced, mart not built), parameterized queries, and a cache
that follows the published snapshot."""

from __future__ import annotations

import os
import threading
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from dashboards import data_access as da
from orchestration.config import Settings
from tests.support.dashboard import publish, write_contract_fixture


@pytest.fixture
def snap(tmp_settings: Settings) -> da.Snapshot:
    build = write_contract_fixture(tmp_settings.data_dir / "build.duckdb")
    publish(build, tmp_settings)
    return da.snapshot()


def test_missing_snapshot(tmp_settings: Settings) -> None:
    with pytest.raises(da.WarehouseMissing, match="run `meterline run` first"):
        da.snapshot()


def test_worked_invoice_is_decimal(snap: da.Snapshot) -> None:
    invoices = da.invoices(snap, "2026-10")
    row = invoices.filter(invoices["customer_id"] == "cus_northwind").row(0, named=True)
    assert row["total"] == Decimal("1080.00")
    assert isinstance(row["total"], Decimal)
    assert da.period_list(snap) == ["2026-10", "2026-09"]


def test_queries_are_parameterized(snap: da.Snapshot) -> None:
    assert da.invoices(snap, "2026-10' or '1'='1").is_empty()
    with pytest.raises(KeyError):
        da.cogs_by(snap, "2026-10", "customer_id; drop table marts.fct_cogs_daily")


def test_connection_is_read_only_and_closed(snap: da.Snapshot) -> None:
    da.invoices(snap, "2026-10")
    # no connection is left open: a writer can take the file right after a query
    con = duckdb.connect(snap.path)
    con.execute("create table marts.probe as select 1 as x")
    con.close()


def test_missing_mart_is_named(tmp_settings: Settings) -> None:
    build = write_contract_fixture(tmp_settings.data_dir / "b.duckdb", omit=["fct_alerts"])
    publish(build, tmp_settings)
    with pytest.raises(da.MartMissing, match="`marts.fct_alerts` is not built"):
        da.alerts(da.snapshot(), "2026-10")


def test_incompatible_mart_is_a_message(snap: da.Snapshot) -> None:
    con = duckdb.connect(snap.path)
    con.execute("create or replace table marts.fct_alerts as select 1 as other_column")
    con.close()
    with pytest.raises(da.MartIncompatible, match="does not have the columns"):
        da.alerts(da.snapshot(), "2026-10")


def test_unreadable_file_is_busy_after_one_retry(tmp_settings: Settings) -> None:
    path = tmp_settings.published_warehouse
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a duckdb file, half copied" * 100)
    started = time.perf_counter()
    with pytest.raises(da.WarehouseBusy, match="being refreshed"):
        da.invoices(da.snapshot(), "2026-10")
    assert time.perf_counter() - started >= da.RETRY_DELAY_SECONDS


def test_retry_sees_the_replaced_snapshot(tmp_settings: Settings) -> None:
    good = write_contract_fixture(tmp_settings.data_dir / "good.duckdb")
    path = tmp_settings.published_warehouse
    path.parent.mkdir(parents=True)
    path.write_bytes(b"garbage" * 100)
    snap = da.snapshot()
    swap = threading.Timer(da.RETRY_DELAY_SECONDS / 4, os.replace, args=(good, path))
    swap.start()
    try:
        rows = da.run_query(
            snap, "select sum(total) as t from marts.fct_invoices", needs=("marts.fct_invoices",)
        )
    finally:
        swap.join()
    assert rows.item() == Decimal("2518.00")


def test_cache_follows_the_published_snapshot(tmp_settings: Settings) -> None:
    first = write_contract_fixture(tmp_settings.data_dir / "first.duckdb")
    publish(first, tmp_settings)
    before = da.snapshot()
    assert da.invoices(before, "2026-10").height == 3
    second = tmp_settings.data_dir / "second.duckdb"
    write_contract_fixture(second)
    con = duckdb.connect(str(second))
    con.execute("delete from marts.fct_invoice_register where customer_id = 'cus_acme'")
    con.close()
    publish(second, tmp_settings)
    after = da.snapshot()
    assert after.token != before.token
    assert da.invoices(after, "2026-10").height == 2


def test_exports_are_read_as_bytes_and_names_checked(tmp_settings: Settings) -> None:
    folder = tmp_settings.exports_dir / "invoices" / "2026-10"
    folder.mkdir(parents=True)
    data = b"invoice_number,total\r\nINV-202610-00001,1080.00\r\n"
    (folder / "INV-202610-00001.csv").write_bytes(data)
    assert da.invoice_export("2026-10", "INV-202610-00001") == data
    assert da.invoice_export("2026-10", "INV-202610-00002") is None
    assert da.period_summary_export("2026-10") is None
    with pytest.raises(ValueError):
        da.invoice_export("2026-10", "../../secrets")
    with pytest.raises(ValueError):
        da.period_summary_export("../x")


def test_last_run_absent_or_bad(tmp_settings: Settings) -> None:
    assert da.last_run() is None
    log = tmp_settings.data_dir / ".meterline" / "last_run.json"
    log.parent.mkdir()
    log.write_text("{not json", encoding="utf-8")
    assert da.last_run() is None
    log.write_text('{"status": "succeeded"}', encoding="utf-8")
    assert da.last_run() == {"status": "succeeded"}


def test_snapshot_path_follows_settings(tmp_settings: Settings) -> None:
    assert da.published_path() == tmp_settings.data_dir / "published" / "warehouse.duckdb"
    assert Path(da.data_dir()) == tmp_settings.data_dir


def test_periods_and_default_come_from_the_mart(tmp_settings: Settings) -> None:
    """The period list, labels and default are dim_billing_periods' (its rules are dbt's, tested
    on a real build in tests/test_dashboard_real_build.py); the dashboard only reads them."""
    build = write_contract_fixture(tmp_settings.data_dir / "b.duckdb")
    con = duckdb.connect(str(build))
    con.execute(
        "insert into marts.dim_billing_periods by name select '2026-11' as period, "
        "'2026-11 · incomplete (no usage yet)' as period_label, 'incomplete' as period_status, "
        "true as is_open, false as is_default, false as has_usage, 1 as draft_invoices, "
        "0 as issued_invoices, false as has_drafts_before_issued"
    )
    con.close()
    publish(build, tmp_settings)
    snap = da.snapshot()
    assert da.period_list(snap) == ["2026-11", "2026-10", "2026-09"]
    assert da.default_period(snap) == "2026-10"
    labels = dict(da.periods(snap).select("period", "period_label").iter_rows())
    assert labels == {
        "2026-11": "2026-11 · incomplete (no usage yet)",
        "2026-10": "2026-10 · incomplete (usage through 2026-10-17)",
        "2026-09": "2026-09 · closed",
    }
