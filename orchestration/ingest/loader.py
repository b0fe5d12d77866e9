"""The per-file load loop shared by every raw source: skip files already in the manifest,
load each new file in its own transaction, check its batch summary, record the manifest row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import duckdb

from orchestration.config import Settings
from orchestration.ingest.manifest import (
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
from orchestration.ingest.providers import PROVIDERS, FileLoader, provider_loader
from orchestration.ingest.results import FileLoad, IngestError
from orchestration.ingest.usage import UsageFiles
from orchestration.quality.batch_summary import batch_summary_problems

__all__ = ["PROVIDERS", "FileLoader", "ingest_provider_files", "ingest_usage_files", "load_files"]


def load_files(
    con: duckdb.DuckDBPyConnection,
    source: str,
    files: list[RawFile],
    loader: FileLoader,
    default_table: str,
    *,
    loaded_at: dt.datetime | None = None,
    prepare: Callable[[duckdb.DuckDBPyConnection, RawFile], None] | None = None,
) -> list[FileLoad]:
    """Load the new ``files`` in order. ``loaded_at`` (default: now) is the wall clock recorded
    for all of them; a file without a date in its name arrives then. ``prepare`` runs before each
    new file's transaction."""
    loaded_at = loaded_at or now_utc()
    out: list[FileLoad] = []
    for f in files:
        prior = loaded_batch(con, f)
        if prior is not None:
            table = loaded_table(con, prior) or default_table
            out.append(FileLoad(source, table, f.rel_path, prior, True, 0, 0, 0, 0, 0))
            continue
        arrival = arrival_at(f.rel_path, loaded_at)
        if prepare is not None:
            prepare(con, f)
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


def ingest_usage_files(con: duckdb.DuckDBPyConnection, s: Settings) -> list[FileLoad]:
    files = discover(s, s.raw_dir / "usage", ["jsonl", "csv", "parquet"])
    loaded_at = now_utc()
    new = [f for f in files if loaded_batch(con, f) is None]
    pending = [(f, arrival_at(f.rel_path, loaded_at)) for f in new]
    usage = UsageFiles(con, pending)
    return load_files(
        con,
        "usage",
        files,
        usage.load,
        "usage_events",
        loaded_at=loaded_at,
        prepare=usage.prepare,
    )


def ingest_provider_files(
    con: duckdb.DuckDBPyConnection, s: Settings, provider: str
) -> list[FileLoad]:
    loader, formats, default_table = provider_loader(provider)
    files = discover(s, s.raw_dir / "costs" / provider, formats)
    return load_files(con, provider, files, loader, default_table)
