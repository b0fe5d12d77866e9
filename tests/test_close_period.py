"""End to end: materialize everything for a small data directory (`meterline run`), close
October: refused while a customer has unpriced usage, then closed with that customer excluded.
The CSVs exist, their totals equal fct_invoices, their bytes are identical on a second close,
after a rebuild of the same warehouse, and after a full rebuild from scratch."""

from __future__ import annotations

import csv
import io
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from orchestration.close import close_period
from orchestration.config import Settings
from orchestration.pipeline import run_pipeline
from tests.support.pipeline import file_hashes, make_data_dir, query

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::Warning")]

PERIOD = "2026-10"
EXCLUDE = ["cus_globex"]


def new_settings(root: Path) -> Settings:
    data = make_data_dir(root / "data")
    return Settings(data_dir=data, warehouse=data / "warehouse.duckdb")


def close(s: Settings, exclude: list[str]) -> tuple[bool, str]:
    messages: list[str] = []
    ok = close_period(s, PERIOD, exclude, echo=messages.append)
    return ok, "\n".join(messages)


def exports(s: Settings) -> Path:
    return s.exports_dir / "invoices" / PERIOD


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    s = new_settings(tmp_path_factory.mktemp("close_a"))
    assert run_pipeline(s, progress=False)
    return s


@pytest.fixture(scope="module")
def refused(built: Settings) -> dict[str, Any]:
    ok, message = close(built, [])
    return {
        "ok": ok,
        "message": message,
        "ledger": query(built, "select count(*) from ledger.issued_invoices")[0][0],
        "closes": query(built, "select count(*) from ledger.period_closes")[0][0],
        "exports": exports(built).exists(),
    }


@pytest.fixture(scope="module")
def closed(built: Settings, refused: dict[str, Any]) -> dict[str, Any]:
    ok, message = close(built, EXCLUDE)
    state = {
        "ok": ok,
        "message": message,
        "hashes": file_hashes(exports(built)),
        "ledger": query(built, "select * from ledger.issued_invoices order by 1"),
        "lines": query(built, "select * from ledger.issued_invoice_lines order by 1, 4"),
    }
    again_ok, again_message = close(built, EXCLUDE)
    state |= {
        "again_ok": again_ok,
        "again_message": again_message,
        "again_hashes": file_hashes(exports(built)),
        "again_ledger": query(built, "select * from ledger.issued_invoices order by 1"),
    }
    return state


@pytest.fixture(scope="module")
def rebuilt(built: Settings, closed: dict[str, Any]) -> dict[str, Any]:
    """Rebuild the same warehouse (every dbt model), remove the exports, close again."""
    assert run_pipeline(built, progress=False)
    invoices = query(
        built,
        "select customer_id, status, invoice_number, total "
        "from marts.fct_invoices where period = ? order by 1",
        [PERIOD],
    )
    shutil.rmtree(built.exports_dir)
    ok, message = close(built, EXCLUDE)
    return {
        "invoices": invoices,
        "ok": ok,
        "message": message,
        "hashes": file_hashes(exports(built)),
    }


@pytest.fixture(scope="module")
def from_scratch(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The same inputs in a new data directory: new warehouse, run, close."""
    s = new_settings(tmp_path_factory.mktemp("close_b"))
    assert run_pipeline(s, progress=False)
    ok, _ = close(s, EXCLUDE)
    return {
        "ok": ok,
        "hashes": file_hashes(exports(s)),
        "ledger": query(s, "select * from ledger.issued_invoices order by 1"),
    }


def read_csv(path: Path) -> list[dict[str, str]]:
    # the exports are UTF-8 with a byte-order mark (Excel); utf-8-sig reads past it
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def test_close_refused_without_a_successful_run(tmp_path: Path) -> None:
    s = new_settings(tmp_path)
    ok, message = close(s, [])
    assert not ok
    assert "no pipeline run recorded" in message


def test_bad_period_is_refused(built: Settings) -> None:
    messages: list[str] = []
    assert not close_period(built, "2026-13", [], echo=messages.append)
    assert "YYYY-MM" in messages[0]


def test_unpriced_usage_refuses_naming_the_customer(refused: dict[str, Any]) -> None:
    assert refused["ok"] is False
    assert "cus_globex" in refused["message"]
    assert "cus_acme" not in refused["message"]
    assert "--exclude cus_globex" in refused["message"]
    assert (refused["ledger"], refused["closes"], refused["exports"]) == (0, 0, False)


def test_close_numbers_invoices_in_customer_order(built: Settings, closed: dict[str, Any]) -> None:
    assert closed["ok"], closed["message"]
    ledger = [(r[0], r[1], r[2], r[10]) for r in closed["ledger"]]
    assert ledger == [
        ("INV-202610-00001", "cus_acme", PERIOD, Decimal("64.17")),
        ("INV-202610-00002", "cus_northwind", PERIOD, Decimal("1080.00")),
    ]
    # deterministic issued_at: end of the grace period, not the wall clock
    assert {str(r[11]) for r in closed["ledger"]} == {"2026-11-03 00:00:00"}
    closes = query(
        built,
        "select period, closed_at, invoice_count, excluded_customers from ledger.period_closes",
    )
    assert [(p, str(c), n, e) for p, c, n, e in closes] == [
        (PERIOD, "2026-11-03 00:00:00", 2, "cus_globex")
    ]


def test_csv_exports_match_fct_invoices(built: Settings, closed: dict[str, Any]) -> None:
    assert sorted(closed["hashes"]) == [
        "INV-202610-00001.csv",
        "INV-202610-00001.html",
        "INV-202610-00001.pdf",
        "INV-202610-00002.csv",
        "INV-202610-00002.html",
        "INV-202610-00002.pdf",
        "summary.csv",
    ]
    marts = dict(
        query(
            built,
            "select customer_id, total from marts.fct_invoices "
            "where period = ? and customer_id <> 'cus_globex'",
            [PERIOD],
        )
    )
    summary = read_csv(exports(built) / "summary.csv")
    assert [(r["invoice_number"], r["customer_id"], r["total"]) for r in summary] == [
        ("INV-202610-00001", "cus_acme", "64.17"),
        ("INV-202610-00002", "cus_northwind", "1080.00"),
    ]
    for row in summary:
        assert Decimal(row["total"]) == marts[row["customer_id"]]
        lines = read_csv(exports(built) / f"{row['invoice_number']}.csv")
        assert len(lines) == int(row["line_count"])
        assert sum(Decimal(x["amount"]) for x in lines) == Decimal(row["total"])
        assert all(x["invoice_number"] == row["invoice_number"] for x in lines)
        assert [int(x["line_no"]) for x in lines] == list(range(1, len(lines) + 1))
    northwind = read_csv(exports(built) / "INV-202610-00002.csv")
    by_type = {x["line_type"]: x["amount"] for x in northwind}
    # PRICING.md's worked invoice; the negative amounts are numbers, not escaped text
    assert by_type["discount"] == "-25.96"
    assert by_type["minimum_commitment"] == "667.36"
    assert by_type["credit"] == "-100.00"
    assert by_type["tax"] == "180.00"
    raw = (exports(built) / "INV-202610-00002.csv").read_text(encoding="utf-8-sig")
    assert "e+" not in raw.lower() and "'-" not in raw


def test_second_close_is_a_noop(closed: dict[str, Any]) -> None:
    assert closed["again_ok"]
    assert "already closed" in closed["again_message"]
    assert closed["again_hashes"] == closed["hashes"]
    assert closed["again_ledger"] == closed["ledger"]


def test_rebuild_shows_issued_invoices_and_same_bytes(
    closed: dict[str, Any], rebuilt: dict[str, Any]
) -> None:
    assert rebuilt["invoices"] == [
        ("cus_acme", "issued", "INV-202610-00001", Decimal("64.17")),
        ("cus_globex", "draft", None, Decimal("99.15")),
        ("cus_northwind", "issued", "INV-202610-00002", Decimal("1080.00")),
    ]
    assert rebuilt["ok"] and "re-created 7 missing export file(s)" in rebuilt["message"]
    assert rebuilt["hashes"] == closed["hashes"]


def test_full_rebuild_from_scratch_gives_identical_bytes(
    closed: dict[str, Any], from_scratch: dict[str, Any]
) -> None:
    assert from_scratch["ok"]
    assert from_scratch["hashes"] == closed["hashes"]
    assert from_scratch["ledger"] == closed["ledger"]


def test_published_snapshot_has_the_marts(built: Settings, closed: dict[str, Any]) -> None:
    assert built.published_warehouse.exists()
    rows = query(built.published_warehouse, "select count(*) from marts.fct_invoices")
    assert rows[0][0] == 6
    assert not list(built.published_warehouse.parent.glob(".*tmp*"))


def test_grace_period_refuses_until_over(built: Settings) -> None:
    import datetime as dt

    messages: list[str] = []
    # the data's last event is 2026-11-10: November's grace ends 2026-12-03 00:00 UTC
    assert not close_period(
        built, "2026-11", [], now=dt.datetime(2026, 11, 20), echo=messages.append
    )
    assert "grace period (2 days) not over at 2026-11-20 00:00 UTC" in messages[0]
    for customer in ("cus_acme", "cus_globex", "cus_northwind"):
        assert f"{customer} until 2026-12-03 00:00 UTC" in messages[0]
    assert "--force" in messages[0]
    assert query(built, "select count(*) from ledger.period_closes where period = '2026-11'") == [
        (0,)
    ]


def test_summary_shows_the_closed_period(
    built: Settings, closed: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from orchestration.summary import print_summary

    print_summary(built, PERIOD)
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines()]
    assert ["issued", "USD", "2", "1144.17", "0"] in [[c for c in r if c not in "│┃"] for r in rows]
    assert ["draft", "USD", "1", "99.15", "1"] in [[c for c in r if c not in "│┃"] for r in rows]
    assert "period 2026-10 closed (2 invoices)" in out
    assert "usage_events" in out
