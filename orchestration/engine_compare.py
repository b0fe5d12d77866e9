"""Compare the marts of the two engines (issue 21): the DuckDB warehouse's ``marts`` tables with
the Spark engine's tables of the same names (Parquet files under ``<data>/spark/warehouse/
marts.db/<table>``, read by DuckDB: no Spark session needed to check a Spark build).

Each row is rendered as text column by column (DECIMALs with their scale, so 1.50 and 1.5
differ; timestamps ISO), rows are sorted, and the md5 of the sorted rows is the table's hash:
equal hashes = the same rows, to the last digit, in any order."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.config import Settings


@dataclass(frozen=True)
class MartComparison:
    table: str
    duckdb_rows: int
    spark_rows: int | None
    duckdb_hash: str
    spark_hash: str | None
    columns_equal: bool
    detail: str = ""

    @property
    def equal(self) -> bool:
        return self.columns_equal and self.duckdb_hash == self.spark_hash


def spark_table_dir(s: Settings, schema: str, table: str) -> Path:
    return s.spark_dir / "warehouse" / f"{schema}.db" / table


def _text_select(con: duckdb.DuckDBPyConnection, relation: str) -> tuple[list[str], str]:
    cols = con.execute(f"describe select * from {relation}").fetchall()
    names = [c[0] for c in cols]
    parts = []
    for name, data_type, *_ in cols:
        q = '"' + name.replace('"', '""') + '"'
        if data_type.startswith("TIMESTAMP"):
            expr = f"strftime(cast({q} as timestamp), '%Y-%m-%dT%H:%M:%S.%f')"
        elif data_type.startswith(("FLOAT", "DOUBLE")):
            expr = f"cast(cast({q} as decimal(38, 12)) as varchar)"
        elif data_type.startswith(("STRUCT", "MAP")) or data_type.endswith("]"):
            expr = f"cast(to_json({q}) as varchar)"
        else:
            expr = f"cast({q} as varchar)"
        parts.append(f"coalesce({expr}, '\\N')")
    return names, " || chr(31) || ".join(parts) if parts else "''"


def table_hash(con: duckdb.DuckDBPyConnection, relation: str) -> tuple[list[str], int, str]:
    names, row_text = _text_select(con, relation)
    rows = con.execute(f"select {row_text} as r from {relation} order by r").fetchall()
    h = hashlib.md5()
    for (r,) in rows:
        h.update(r.encode())
        h.update(b"\n")
    return names, len(rows), h.hexdigest()


def compare_marts(duck: Settings, spark: Settings, schema: str = "marts") -> list[MartComparison]:
    """One comparison per table of ``schema`` in the DuckDB warehouse of ``duck``."""
    out: list[MartComparison] = []
    con = duckdb.connect(str(duck.warehouse), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = ? "
                "and table_type = 'BASE TABLE' order by table_name",
                [schema],
            ).fetchall()
        ]
        for table in tables:
            d_names, d_rows, d_hash = table_hash(con, f"{schema}.{table}")
            folder = spark_table_dir(spark, schema, table)
            files = sorted(folder.glob("*.parquet")) if folder.exists() else []
            if not files:
                out.append(
                    MartComparison(table, d_rows, None, d_hash, None, False, "not built on Spark")
                )
                continue
            rel = f"read_parquet('{folder}/*.parquet')"
            s_names, s_rows, s_hash = table_hash(con, rel)
            out.append(
                MartComparison(
                    table,
                    d_rows,
                    s_rows,
                    d_hash,
                    s_hash,
                    d_names == s_names,
                    "" if d_names == s_names else f"columns {d_names} vs {s_names}",
                )
            )
    finally:
        con.close()
    return out
