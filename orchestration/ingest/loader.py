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
from orchestration.ingest.providers import PROVIDERS, FileLoader, provider_loader
from orchestration.ingest.results import FileLoad, FileRejected, IngestError
from orchestration.ingest.usage import REJECTABLE_ERRORS, UsageFiles
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
    reject: tuple[type[BaseException], ...] = (),
    warning: Callable[[RawFile], str | None] | None = None,
) -> list[FileLoad]:
    """Load the new ``files`` in order. ``loaded_at`` (default: now) is the wall clock recorded
    for all of them; a file without a date in its name arrives then. ``prepare`` runs before each
    new file's transaction. A file whose loader raises one of ``reject`` is rolled back and
    recorded as ``rejected`` (``record_rejection``); the next files load. ``warning`` gives a
    loaded file's notice for its manifest row."""
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
        rejected: BaseException | None = None
        try:
            batch_id = next_batch_id(con)
            try:
                table, c, empty = loader(con, f, batch_id, arrival)
            except reject as exc:
                rejected = exc
                raise
            # the batch summary's rules, before anything of the file is committed
            summary = {**c.__dict__, "file_path": f.rel_path, "batch_id": batch_id}
            problems = batch_summary_problems([summary])
            if problems:
                raise IngestError("; ".join(problems) + "; nothing loaded")
            record_batch(
                con,
                batch_id=batch_id,
                source=source,
                table_name=table,
                f=f,
                arrival=arrival,
                loaded_at=loaded_at,
                c=c,
                warning=warning(f) if warning is not None else None,
            )
            reasons = quarantine_reasons(con, batch_id)
            con.commit()
        except BaseException as exc:
            con.rollback()
            if exc is not rejected:
                raise
            out.append(record_rejection(con, source, default_table, f, arrival, loaded_at, exc))
            continue
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
                warning=warning(f) if warning is not None else None,
            )
        )
    return out


def record_rejection(
    con: duckdb.DuckDBPyConnection,
    source: str,
    table: str,
    f: RawFile,
    arrival: dt.datetime,
    loaded_at: dt.datetime,
    exc: BaseException,
) -> FileLoad:
    """Record ``f`` as rejected in its own transaction: one quarantine row (``unreadable_file``,
    row = the first offending row when known, else 0; no raw record: the file may be binary or
    huge) and a manifest row with raw = quarantined = 1. The (path, hash) is in the manifest,
    so the file is retried only when its bytes change."""
    reason = exc.reason if isinstance(exc, FileRejected) else _error_text(exc, f)
    row = exc.row if isinstance(exc, FileRejected) else None
    c = Counts(raw_rows=1, loaded_rows=0, duplicate_rows=0, quarantined_rows=1, conflict_rows=0)
    con.begin()
    try:
        batch_id = next_batch_id(con)
        con.execute(
            "insert into raw.quarantine values (?, ?, ?, ?, 'unreadable_file', ?, null)",
            [batch_id, source, f.rel_path, row or 0, f"file rejected: {reason}"],
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
            status="rejected",
            rejected_reason=reason,
        )
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return FileLoad(
        source,
        table,
        f.rel_path,
        batch_id,
        False,
        1,
        0,
        0,
        1,
        0,
        0,
        {"unreadable_file": 1},
        rejected_reason=reason,
    )


def _error_text(exc: BaseException, f: RawFile) -> str:
    """A reader's error in one line: its message up to the first blank line, without the
    offending line's text (``Original Line:``, possibly megabytes) or DuckDB's suggestions,
    the absolute path replaced by the file's relative one."""
    parts = []
    for line in str(exc).strip().splitlines():
        if not line.strip():
            break
        if line.startswith(("Original Line:", "Possible Solution")):
            continue
        parts.append(line.strip())
    text = "; ".join(parts) or type(exc).__name__
    return text.replace(str(f.path), f.rel_path)[:500]


def ingest_usage_files(con: duckdb.DuckDBPyConnection, s: Settings) -> list[FileLoad]:
    files = discover(s, s.raw_dir / "usage", ["jsonl", "csv", "parquet"])
    loaded_at = now_utc()
    new = [f for f in files if loaded_batch(con, f) is None]
    pending = [(f, arrival_at(f.rel_path, loaded_at)) for f in new]
    usage = UsageFiles(con, pending, s.data_dir / ".meterline" / "tmp")
    return load_files(
        con,
        "usage",
        files,
        usage.load,
        "usage_events",
        loaded_at=loaded_at,
        prepare=usage.prepare,
        reject=REJECTABLE_ERRORS,
        warning=usage.warning,
    )


def ingest_provider_files(
    con: duckdb.DuckDBPyConnection, s: Settings, provider: str
) -> list[FileLoad]:
    loader, formats, default_table = provider_loader(provider)
    files = discover(s, s.raw_dir / "costs" / provider, formats)
    return load_files(con, provider, files, loader, default_table)
