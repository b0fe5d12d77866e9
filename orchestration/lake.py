"""Raw data both engines read (issue 21, docs/design.md "Engines").

Ingest, its checks and the close write DuckDB (``raw.*``, ``ledger.*``): conservation,
quarantine and dedupe happen there once, whatever the engine. For ``METERLINE_ENGINE=spark``,
``export_lake`` copies every ``raw`` and ``ledger`` table to one Parquet file per table under
``<data_dir>/lake/<schema>/<table>/part-0.parquet`` (written beside, then renamed into place); the
dbt project registers each as an external table on Spark (macro ``register_lake_sources``,
on-run-start). Parquet needs no extension on either side: DuckDB writes it natively, Spark reads
it natively.

Column types cross unchanged except two DuckDB-only ones: ``JSON`` goes as text (dbt models parse
it with the JSON functions of each engine) and ``UBIGINT`` as ``DECIMAL(20,0)`` (Spark has no
unsigned integers)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from orchestration.config import Settings
from orchestration.warehouse import connect

LAKE_SCHEMAS = ("raw", "ledger", "scenarios")


def _select_list(columns: list[tuple[str, str]]) -> str:
    out = []
    for name, data_type in columns:
        quoted = '"' + name.replace('"', '""') + '"'
        if data_type == "JSON":
            out.append(f"cast({quoted} as varchar) as {quoted}")
        elif data_type == "UBIGINT":
            out.append(f"cast({quoted} as decimal(20, 0)) as {quoted}")
        else:
            out.append(quoted)
    return ", ".join(out)


def export_lake(s: Settings, only: frozenset[tuple[str, str]] | None = None) -> dict[str, int]:
    """Copy every table of the raw, ledger and scenarios schemas (``only``: these
    ``(schema, table)`` pairs) to Parquet under ``s.lake_dir``; returns rows per
    ``schema.table``. Rows keep the table's order (``preserve_insertion_order``)."""
    counts: dict[str, int] = {}
    marks = ", ".join("?" for _ in LAKE_SCHEMAS)
    with connect(s.warehouse, read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema in ({marks}) and table_type = 'BASE TABLE' "
            "order by table_schema, table_name",
            list(LAKE_SCHEMAS),
        ).fetchall()
        if only is not None:
            tables = [t for t in tables if (t[0], t[1]) in only]
        for schema, table in tables:
            columns = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            ).fetchall()
            folder = s.lake_dir / schema / table
            folder.mkdir(parents=True, exist_ok=True)
            final = folder / "part-0.parquet"
            tmp = folder / ".part-0.parquet.tmp"
            con.execute(
                f"copy (select {_select_list(columns)} from {schema}.{table}) "
                f"to '{tmp}' (format parquet, compression zstd)"
            )
            os.replace(tmp, final)
            counts[f"{schema}.{table}"] = con.execute(
                f"select count(*) from {schema}.{table}"
            ).fetchone()[0]
    return counts


def clear_lake(s: Settings) -> None:
    """Remove the Parquet copies (the warehouse stays the source of truth)."""
    if s.lake_dir.exists():
        shutil.rmtree(s.lake_dir)


def lake_table_path(s: Settings, schema: str, table: str) -> Path:
    return s.lake_dir / schema / table


def import_spark_relations(
    s: Settings,
    schemas: tuple[str, ...] = ("intermediate", "marts"),
    only: frozenset[str] | None = None,
) -> list[str]:
    """Copy every table the Spark engine built in ``schemas`` (Parquet under
    ``<data>/spark/warehouse/<schema>.db/<table>``) into the DuckDB warehouse, replacing the
    table of that name: the close, the exports, the checks and the published snapshot then read
    the Spark results. Spark writes timestamps as instants (TIMESTAMPTZ in DuckDB): they come
    back as naive UTC TIMESTAMPs, the warehouse convention. ``only``: these table names alone.
    Returns ``schema.table`` names."""
    done: list[str] = []
    root = s.spark_dir / "warehouse"
    with connect(s.warehouse) as con:
        for schema in schemas:
            folder = root / f"{schema}.db"
            if not folder.exists():
                continue
            con.execute(f"create schema if not exists {schema}")
            for table_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
                if only is not None and table_dir.name not in only:
                    continue
                files = f"{table_dir}/*.parquet"
                if not any(table_dir.glob("*.parquet")):
                    continue
                cols = con.execute(f"describe select * from read_parquet('{files}')").fetchall()
                select = ", ".join(
                    f'cast("{c[0]}" as timestamp) as "{c[0]}"'
                    if c[1].startswith("TIMESTAMP WITH TIME ZONE")
                    else f'"{c[0]}"'
                    for c in cols
                )
                is_view = con.execute(
                    "select count(*) from information_schema.tables where table_schema = ? "
                    "and table_name = ? and table_type = 'VIEW'",
                    [schema, table_dir.name],
                ).fetchone()[0]
                if is_view:  # a view model on DuckDB earlier, a table on Spark now
                    con.execute(f"drop view {schema}.{table_dir.name}")
                con.execute(
                    f"create or replace table {schema}.{table_dir.name} as "
                    f"select {select} from read_parquet('{files}')"
                )
                done.append(f"{schema}.{table_dir.name}")
    return done


def build_duckdb_views(s: Settings) -> None:
    """The project's view models (staging and the few views downstream) created on the DuckDB
    warehouse too, over its raw tables and the relations copied from Spark: the pricing lab
    (scenario mode, on DuckDB) and readers of the warehouse find every relation a DuckDB build
    would have made. Its own target directory: the main build's run_results.json stays."""
    import dataclasses

    from orchestration.dbt_runner import run_dbt

    target = s.data_dir / ".meterline" / "dbt_duckdb_views_target"
    run_dbt(
        dataclasses.replace(s, engine="duckdb"),
        "run",
        "--quiet",
        "--select",
        "config.materialized:view",
        "--exclude",
        "tag:scenarios",
        "--target-path",
        str(target),
        "--log-path",
        str(target / "logs"),
        at_warehouse=True,
    )
