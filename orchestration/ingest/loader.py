"""The per-file load loop shared by every raw source: skip files already in the manifest,
load each new file in its own transaction, check its batch summary, record the manifest row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import duckdb

from orchestration.config import Settings
from orchestration.ingest.manifest import (
    Counts,
    RawFile,
    arrival_at,
    discover,
    loaded_batch,
    loaded_table,
    next_batch_id,
    now_utc,
    quarantine_reasons,
    record_batch,
)
from orchestration.ingest.results import FileLoad, IngestError
from orchestration.ingest.usage import load_usage_file
from orchestration.quality.batch_summary import batch_summary_problems

PROVIDERS: tuple[str, ...] = ("openai", "anthropic", "focus")

# (connection, file, batch_id, arrival) -> (raw table written, counts, empty buckets)
FileLoader = Callable[
    [duckdb.DuckDBPyConnection, RawFile, int, dt.datetime], tuple[str, Counts, int]
]


def load_files(
    con: duckdb.DuckDBPyConnection,
    source: str,
    files: list[RawFile],
    loader: FileLoader,
    default_table: str,
) -> list[FileLoad]:
    out: list[FileLoad] = []
    for f in files:
        prior = loaded_batch(con, f)
        if prior is not None:
            table = loaded_table(con, prior) or default_table
            out.append(FileLoad(source, table, f.rel_path, prior, True, 0, 0, 0, 0, 0))
            continue
        loaded_at = now_utc()
        arrival = arrival_at(f.rel_path, loaded_at)
        con.begin()
        try:
            batch_id = next_batch_id(con)
            table, c, empty = loader(con, f, batch_id, arrival)
            if c.raw_rows != c.loaded_rows + c.duplicate_rows + c.quarantined_rows:
                raise IngestError(
                    f"{f.rel_path}: raw rows {c.raw_rows} != loaded "
                    f"{c.loaded_rows} + duplicates {c.duplicate_rows} + "
                    f"quarantined {c.quarantined_rows}; nothing loaded"
                )
            record_batch(
                con,
                batch_id=batch_id,
                source=source,
                table_name=table,
                f=f,
                arrival=arrival,
                loaded_at=loaded_at,
                c=c,
            )
            reasons = quarantine_reasons(con, batch_id)
            con.commit()
        except BaseException:
            con.rollback()
            raise
        out.append(
            FileLoad(
                source,
                table,
                f.rel_path,
                batch_id,
                False,
                c.raw_rows,
                c.loaded_rows,
                c.duplicate_rows,
                c.quarantined_rows,
                c.conflict_rows,
                empty,
                reasons,
            )
        )
    problems = batch_summary_problems([f.__dict__ for f in out if not f.skipped])
    if problems:
        raise IngestError("batch summaries failed validation:\n" + "\n".join(problems))
    return out


def _usage_loader(
    con: duckdb.DuckDBPyConnection, f: RawFile, batch_id: int, arrival: dt.datetime
) -> tuple[str, Counts, int]:
    return "usage_events", load_usage_file(con, f, batch_id, arrival), 0


def ingest_usage_files(con: duckdb.DuckDBPyConnection, s: Settings) -> list[FileLoad]:
    files = discover(s, s.raw_dir / "usage", ["jsonl", "csv", "parquet"])
    return load_files(con, "usage", files, _usage_loader, "usage_events")


def ingest_provider_files(
    con: duckdb.DuckDBPyConnection, s: Settings, provider: str
) -> list[FileLoad]:
    from orchestration.ingest.providers import provider_loader

    loader, formats, default_table = provider_loader(provider)
    files = discover(s, s.raw_dir / "costs" / provider, formats)
    return load_files(con, provider, files, loader, default_table)
