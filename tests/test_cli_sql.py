"""`meterline sql`: the analyst's query on the published snapshot (read-only), as a table or CSV,
on a real DuckDB file."""

from __future__ import annotations

from pathlib import Path

import duckdb
from click.testing import CliRunner

from orchestration.cli import main


def make_snapshot(data: Path) -> Path:
    path = data / "published" / "warehouse.duckdb"
    path.parent.mkdir(parents=True)
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_invoices as select * from (values "
            "('cus_acme', '2026-10', cast('64.17' as decimal(18, 2)), null), "
            "('cus_northwind', '2026-10', cast('1080.00' as decimal(18, 2)), 'INV-202610-00001')"
            ") t(customer_id, period, total, invoice_number)"
        )
    finally:
        con.close()
    return path


def test_sql_prints_an_aligned_table(tmp_path: Path) -> None:
    make_snapshot(tmp_path)
    result = CliRunner().invoke(
        main,
        ["sql", "--data-dir", str(tmp_path), "select * from marts.fct_invoices order by 1"],
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "customer_id    period     total  invoice_number",
        "-------------  -------  -------  ----------------",
        "cus_acme       2026-10    64.17",
        "cus_northwind  2026-10  1080.00  INV-202610-00001",
        "(2 rows)",
    ]


def test_sql_csv_from_stdin_and_read_only(tmp_path: Path) -> None:
    path = make_snapshot(tmp_path)
    runner = CliRunner()
    result = runner.invoke(
        main,
        ["sql", "--csv", "--data-dir", str(tmp_path)],
        input="select customer_id, total from marts.fct_invoices order by total desc",
    )
    assert result.exit_code == 0, result.output
    assert result.output == "customer_id,total\ncus_northwind,1080.00\ncus_acme,64.17\n"
    # the snapshot is opened read-only: a write is refused and changes nothing
    before = path.read_bytes()
    refused = runner.invoke(
        main, ["sql", "--data-dir", str(tmp_path), "delete from marts.fct_invoices"]
    )
    assert refused.exit_code == 1
    assert "read-only" in refused.output
    assert path.read_bytes() == before


def test_sql_without_a_snapshot_says_what_to_do(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["sql", "--data-dir", str(tmp_path), "select 1"])
    assert result.exit_code == 1
    assert "no published snapshot" in result.output and "meterline run" in result.output
