"""Periods close in order per customer (issue 17), through the real `meterline run` and close.

cus_northwind and cus_acme both have September and October (tests/support/lifecycle.py).
Closing October while September is open is refused, naming September and both customers;
`--exclude` keeps the rule per customer; `--through` closes what is open first, oldest first."""

from __future__ import annotations

import io
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console

from orchestration.cli import main
from orchestration.close import close_period
from orchestration.config import Settings
from orchestration.pipeline import run_pipeline
from orchestration.summary import summary_tables
from tests.support.lifecycle import ACME, C, scenario
from tests.support.pipeline import query
from tests.support.rating import write_data_dir

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::Warning")]


def close(s: Settings, period: str, exclude: list[str], through: bool = False) -> tuple[bool, str]:
    messages: list[str] = []
    ok = close_period(s, period, exclude, through=through, echo=messages.append)
    return ok, "\n".join(messages)


def summary_text(s: Settings) -> list[list[str]]:
    """`meterline summary`'s output, one list of cells per line (box characters dropped)."""
    buf = io.StringIO()
    console = Console(file=buf, width=200)
    for item in summary_tables(s, None):
        console.print(item)
    return [[c for c in line.split() if c not in "│┃━─"] for line in buf.getvalue().splitlines()]


def ledger(s: Settings) -> list[tuple[Any, ...]]:
    return query(
        s,
        "select invoice_number, customer_id, period, total from ledger.issued_invoices "
        "order by period, invoice_number",
    )


@pytest.fixture(scope="module")
def steps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data = tmp_path_factory.mktemp("order") / "data"
    write_data_dir(data, scenario(with_acme=True))
    s = Settings(data_dir=data, warehouse=data / "warehouse.duckdb")
    assert run_pipeline(s, progress=False)
    out: dict[str, Any] = {"s": s}
    out["refused"] = close(s, "2026-10", [])
    out["refused_ledger"] = ledger(s)
    out["sep_without_acme"] = close(s, "2026-09", [ACME])
    out["oct_refused_for_acme"] = close(s, "2026-10", [])
    out["oct_without_acme"] = close(s, "2026-10", [ACME])
    out["summary_mid"] = summary_text(s)
    out["through"] = close(s, "2026-10", [], through=True)
    out["ledger"] = ledger(s)
    out["rerun"] = run_pipeline(s, progress=False)  # the invariants run in the build
    return out


def test_out_of_order_close_is_refused_naming_periods_and_customers(
    steps: dict[str, Any],
) -> None:
    ok, message = steps["refused"]
    assert not ok
    assert (
        "earlier periods are still open: 2026-09 (cus_acme, cus_northwind). Close them first "
        "(`meterline close --period 2026-09`), close them in order with this one "
        "(`meterline close --through 2026-10`), or --exclude those customers." in message
    )
    assert steps["refused_ledger"] == []


def test_exclude_keeps_the_rule_per_customer(steps: dict[str, Any]) -> None:
    ok, message = steps["sep_without_acme"]
    assert ok and "closed 2026-09: 1 invoices (INV-202609-00001 .. INV-202609-00001)" in message
    ok, message = steps["oct_refused_for_acme"]
    assert not ok
    assert "earlier periods are still open: 2026-09 (cus_acme)." in message
    ok, message = steps["oct_without_acme"]
    assert ok and "closed 2026-10: 1 invoices (INV-202610-00001 .. INV-202610-00001)" in message


def test_through_closes_the_open_periods_first_in_order(steps: dict[str, Any]) -> None:
    ok, message = steps["through"]
    assert ok
    lines = message.splitlines()
    assert lines[0].startswith("closed 2026-09: 1 invoices (INV-202609-00002 .. INV-202609-00002)")
    assert lines[1].startswith("closed 2026-10: 1 invoices (INV-202610-00002 .. INV-202610-00002)")
    # Northwind: 191.00 - 191.00 credit = 0.00; October 341.00 - 309.00 + 6.40 tax = 38.40.
    # Acme: 99.00 fee + 100 images x 0.05 = 104.00 each month, tax 0.
    assert steps["ledger"] == [
        ("INV-202609-00001", C, "2026-09", D("0.00")),
        ("INV-202609-00002", ACME, "2026-09", D("104.00")),
        ("INV-202610-00001", C, "2026-10", D("38.40")),
        ("INV-202610-00002", ACME, "2026-10", D("104.00")),
    ]


def test_the_next_run_shows_them_issued_and_passes_the_invariants(steps: dict[str, Any]) -> None:
    assert steps["rerun"] is True
    s = steps["s"]
    assert query(
        s,
        "select customer_id, period, status, invoice_number from marts.fct_invoices "
        "where period <= '2026-10' order by 1, 2",
    ) == [
        (ACME, "2026-09", "issued", "INV-202609-00002"),
        (ACME, "2026-10", "issued", "INV-202610-00002"),
        (C, "2026-09", "issued", "INV-202609-00001"),
        (C, "2026-10", "issued", "INV-202610-00001"),
    ]
    assert query(s, "select count(*) from ledger.issued_invoice_hashes") == [(4,)]


def test_close_help_documents_the_order(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["close", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "Periods close in order per customer" in text
    assert "`--through P` closes those periods first, oldest first, then P" in text
    both = CliRunner().invoke(main, ["close", "--period", "2026-10", "--through", "2026-10"])
    assert both.exit_code == 2
    assert "give exactly one of --period YYYY-MM and --through YYYY-MM" in both.output


def test_summary_shows_issued_vs_draft_and_open_periods(steps: dict[str, Any]) -> None:
    lines = steps["summary_mid"]
    # September: Northwind issued (0.00), Acme draft (104.00); October: 38.40 issued, 104.00 draft
    assert ["2026-09", "USD", "1", "0.00", "1", "104.00"] in lines
    assert ["2026-10", "USD", "1", "38.40", "1", "104.00"] in lines
    assert ["2026-09", "1", "cus_acme"] in lines
    assert ["credit", "notes:", "none"] in lines
