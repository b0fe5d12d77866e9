"""Late usage after close, and blocking checks.

Close October, deliver an October event late, run again: October's issued invoice (ledger rows)
and its CSV never change; the difference lands on the customer's November draft as an
`adjustment` line of the right amount. Then a corrupted batch summary fails the blocking checks:
the run fails, the published snapshot stays the last good one, and closing is refused."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from orchestration.close import close_period
from orchestration.config import Settings
from orchestration.pipeline import run_pipeline
from orchestration.run_log import read_run_log
from orchestration.warehouse import connect
from tests.support.pipeline import add_late_event, file_hashes, make_data_dir, query

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::Warning")]

OCT = "2026-10"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def invoice_state(s: Settings) -> dict[str, Any]:
    return {
        "csv": file_hashes(s.exports_dir / "invoices" / OCT),
        "ledger": query(s, "select * from ledger.issued_invoices order by 1"),
        "lines": query(s, "select * from ledger.issued_invoice_lines order by 1, 4"),
    }


@pytest.fixture(scope="module")
def late(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data = make_data_dir(tmp_path_factory.mktemp("late") / "data")
    s = Settings(data_dir=data, warehouse=data / "warehouse.duckdb")
    assert run_pipeline(s, progress=False)
    assert close_period(s, OCT, ["cus_globex"], echo=lambda _: None)
    before = invoice_state(s)
    add_late_event(data)
    assert run_pipeline(s, progress=False)
    return {"s": s, "before": before, "after": invoice_state(s)}


@pytest.fixture(scope="module")
def broken(late: dict[str, Any]) -> dict[str, Any]:
    """Corrupt one batch summary (raw rows no longer add up) and run again."""
    s: Settings = late["s"]
    published = sha(s.published_warehouse)
    with connect(s.warehouse) as con:
        con.execute(
            "update raw.load_manifest set raw_rows = raw_rows + 1 "
            "where batch_id = (select min(batch_id) from raw.load_manifest "
            "where source = 'usage')"
        )
    ok = run_pipeline(s, progress=False)
    messages: list[str] = []
    closed = close_period(s, "2026-11", [], force=True, echo=messages.append)
    return {
        "ok": ok,
        "published_before": published,
        "published_after": sha(s.published_warehouse),
        "log": read_run_log(s),
        "closed": closed,
        "message": "\n".join(messages),
    }


def test_late_event_is_rated_in_october(late: dict[str, Any]) -> None:
    rows = query(
        late["s"],
        "select quantity, amount from marts.fct_invoice_lines "
        "where customer_id = 'cus_acme' and period = ? "
        "and line_type = 'usage' and meter_code = 'llm_input_tokens'",
        [OCT],
    )
    # the issued October invoice shows the issued line (2,000,000 tokens, 0.30)
    assert [(Decimal(q), a) for q, a in rows] == [(Decimal(2_000_000), Decimal("0.30"))]


def test_issued_invoice_and_csv_never_change(late: dict[str, Any]) -> None:
    assert late["after"] == late["before"]
    assert len(late["before"]["csv"]) == 7  # 2 invoices x CSV, HTML, PDF + summary.csv
    oct_invoice = query(
        late["s"],
        "select status, invoice_number, total from marts.fct_invoices "
        "where customer_id = 'cus_acme' and period = ?",
        [OCT],
    )
    assert oct_invoice == [("issued", "INV-202610-00001", Decimal("64.17"))]


def test_difference_is_an_adjustment_on_the_next_draft(late: dict[str, Any]) -> None:
    s = late["s"]
    adjustments = query(
        s,
        "select amount, currency from marts.fct_invoice_lines "
        "where customer_id = 'cus_acme' and period = '2026-11' "
        "and line_type = 'adjustment'",
    )
    # 3,000,000 tokens now rate to 0.45 against the issued 0.30
    assert adjustments == [(Decimal("0.15"), "USD")]
    nov = query(
        s,
        "select status, invoice_number, adjustment_total, total "
        "from marts.fct_invoices where customer_id = 'cus_acme' and period = '2026-11'",
    )
    assert nov == [("draft", None, Decimal("0.15"), Decimal("99.30"))]
    others = query(
        s,
        "select count(*) from marts.fct_invoice_lines where line_type = "
        "'adjustment' and customer_id <> 'cus_acme'",
    )
    assert others == [(0,)]


def test_failed_checks_block_publish_and_close(broken: dict[str, Any]) -> None:
    assert broken["ok"] is False
    log = broken["log"]
    assert log is not None and log.status == "failed"
    assert [st.name for st in log.stages] == ["ingest", "checks"]
    failed = {(c.asset, c.check) for c in log.failed_checks}
    assert failed == {("raw/load_manifest", "rows_conserved")}
    assert broken["published_after"] == broken["published_before"]
    assert broken["closed"] is False
    assert "rows_conserved" in broken["message"] or "failed" in broken["message"]
