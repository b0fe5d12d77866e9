"""`meterline sql`: a query on the published snapshot, read-only (what analysts use; the DuckDB
CLI is not part of the install: the `duckdb-cli` package on PyPI lags the `duckdb` version in
uv.lock, and a CLI must be the same version as the database file's writer)."""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import duckdb


def query_snapshot(path: Path, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of ``sql`` on the database file at ``path``, opened read-only."""
    if not path.exists():
        raise FileNotFoundError(f"no published snapshot at {path}: run `meterline run` first")
    con = duckdb.connect(str(path), read_only=True)
    try:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description or []]
        rows = cur.fetchall()
    finally:
        con.close()
    return names, rows


def _text(v: Any) -> str:
    return "" if v is None else str(v)


def _numeric(values: Sequence[Any]) -> bool:
    present = [v for v in values if v is not None]
    return bool(present) and all(
        isinstance(v, int | float | Decimal) and not isinstance(v, bool) for v in present
    )


def write_table(names: Sequence[str], rows: Sequence[Sequence[Any]], out: TextIO) -> None:
    """An aligned text table (numbers right-aligned), then the row count."""
    cells = [[_text(v) for v in row] for row in rows]
    widths = [max([len(n), *(len(r[i]) for r in cells)]) for i, n in enumerate(names)]
    numeric = [
        bool(rows)
        and all(isinstance(r[i], int | float) or r[i] is None for r in rows)
        or any(type(r[i]).__name__ == "Decimal" for r in rows)
        for i in range(len(names))
    ]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ).rstrip()

    out.write(line(names) + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for r in cells:
        out.write(line(r) + "\n")
    out.write(f"({len(rows)} row{'s' if len(rows) != 1 else ''})\n")


def write_csv(names: Sequence[str], rows: Sequence[Sequence[Any]], out: TextIO) -> None:
    w = csv.writer(out, lineterminator="\n")
    w.writerow(names)
    w.writerows([[_text(v) for v in row] for row in rows])


def run_sql(path: Path, sql: str, *, as_csv: bool = False, out: TextIO | None = None) -> None:
    names, rows = query_snapshot(path, sql)
    (write_csv if as_csv else write_table)(names, rows, out or sys.stdout)
