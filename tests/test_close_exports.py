"""The invoice CSV writer: formatting (plain decimals, 2-place amounts, formula escaping of text
cells only) and atomic placement (no partial file ever under exports/)."""

from __future__ import annotations

import os
from decimal import Decimal

import pytest

from orchestration.config import Settings
from orchestration.exports import (
    LINE_COLUMNS,
    TEXT_LINE_COLUMNS,
    escape_text,
    plain_decimal,
    render_csv,
    write_period,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("+1", "'+1"),
        ("-cmd", "'-cmd"),
        ("@foo", "'@foo"),
        ("\tx", "'\tx"),
        ("Images (graduated)", "Images (graduated)"),
        ("", ""),
    ],
)
def test_escape_text(value: str, expected: str) -> None:
    assert escape_text(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("1E+6"), "1000000"),
        (Decimal("2.500000000000"), "2.5"),
        (Decimal("0.000000150000"), "0.00000015"),
        (Decimal("0E-9"), "0"),
        (Decimal("-3.10"), "-3.1"),
    ],
)
def test_plain_decimal(value: Decimal, expected: str) -> None:
    assert plain_decimal(value) == expected


def test_line_rendering_escapes_text_not_numbers() -> None:
    row = (
        "INV-202610-00002",
        "cus_x",
        "2026-10-01",
        "2026-11-01",
        8,
        "discount",
        '=HYPERLINK("http://x")',
        None,
        "-model=a*",
        None,
        None,
        None,
        Decimal("-25.96"),
        "USD",
    )
    data = render_csv(LINE_COLUMNS, [row], TEXT_LINE_COLUMNS).decode()
    header, line = data.splitlines()
    assert header == ",".join(LINE_COLUMNS)
    assert line == (
        "INV-202610-00002,cus_x,2026-10-01,2026-11-01,8,discount,"
        '"\'=HYPERLINK(""http://x"")",,\'-model=a*,,,,-25.96,USD'
    )
    assert data.endswith("\n") and "\r" not in data


def test_amounts_have_two_places_and_floats_are_refused() -> None:
    row = (
        "I",
        "c",
        "d",
        "d",
        1,
        "usage",
        "x",
        "m",
        "",
        Decimal("1E+6"),
        "token",
        Decimal("2.500000000000"),
        Decimal("3"),
        "USD",
    )
    line = render_csv(LINE_COLUMNS, [row], TEXT_LINE_COLUMNS).decode().splitlines()[1]
    assert line.endswith(",1000000,token,2.5,3.00,USD")
    bad = (*row[:9], 1.5, *row[10:])
    with pytest.raises(TypeError):
        render_csv(LINE_COLUMNS, [bad], TEXT_LINE_COLUMNS)


def test_write_period_is_atomic_and_idempotent(tmp_settings: Settings) -> None:
    s = tmp_settings
    files = {"INV-1.csv": b"a\n", "summary.csv": b"s\n"}
    first = write_period(s, "2026-10", files)
    target = s.exports_dir / "invoices" / "2026-10"
    assert first.directory == target
    assert sorted(p.name for p in target.iterdir()) == ["INV-1.csv", "summary.csv"]
    mtimes = {p.name: p.stat().st_mtime_ns for p in target.iterdir()}
    again = write_period(s, "2026-10", files)
    assert again.written == []
    assert {p.name: p.stat().st_mtime_ns for p in target.iterdir()} == mtimes
    (target / "INV-1.csv").unlink()  # e.g. removed by hand: re-created, the rest untouched
    repaired = write_period(s, "2026-10", files)
    assert repaired.written == ["INV-1.csv"]
    assert (target / "INV-1.csv").read_bytes() == b"a\n"
    # temp files live outside exports/ and are gone
    assert not any(p.name.startswith(".") for p in s.exports_dir.rglob("*"))
    assert not list((s.data_dir / ".meterline" / "tmp").iterdir())


def test_killed_writer_leaves_no_partial_file_under_exports(tmp_settings: Settings) -> None:
    """A child process killed while writing a period's files leaves nothing under exports/."""
    s = tmp_settings
    pid = os.fork()
    if pid == 0:  # child: write a large period, get killed midway by the parent
        try:
            big = {f"INV-{i:05d}.csv": b"x" * 200_000 for i in range(400)}
            write_period(s, "2026-09", big)
        finally:
            os._exit(0)
    tmp_root = s.data_dir / ".meterline" / "tmp"
    for _ in range(2000):
        if tmp_root.exists() and any(tmp_root.rglob("*.csv")):
            break
        os.sched_yield()
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    target = s.exports_dir / "invoices" / "2026-09"
    if target.exists():  # the whole directory moved in at once: complete
        assert len(list(target.iterdir())) == 400
    from orchestration.exports import clean_stale_temp

    clean_stale_temp(s)
    assert not tmp_root.exists() or not list(tmp_root.iterdir())
