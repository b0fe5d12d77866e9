"""The load manifest: which files were loaded (by relative path and sha256), as which batch."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.config import Settings

_DATE_IN_NAME = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


@dataclass(frozen=True)
class RawFile:
    path: Path  # absolute
    rel_path: str  # relative to the data dir, '/' separators
    content_hash: str  # sha256 hex of the bytes
    file_format: str  # jsonl | csv | parquet | json | yaml


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_format(path: Path) -> str | None:
    name = path.name.lower()
    for suffix, fmt in (
        (".jsonl", "jsonl"),
        (".ndjson", "jsonl"),
        (".json", "json"),
        (".csv", "csv"),
        (".parquet", "parquet"),
        (".yml", "yaml"),
        (".yaml", "yaml"),
    ):
        if name.endswith(suffix):
            return fmt
    return None


def discover(s: Settings, directory: Path, formats: Iterable[str]) -> list[RawFile]:
    """Files of the given formats under ``directory`` (recursive), sorted by relative path.
    Hidden files (``.name``) are ignored."""
    wanted = set(formats)
    if not directory.is_dir():
        return []
    found: list[RawFile] = []
    for p in sorted(directory.rglob("*")):
        if not p.is_file() or any(part.startswith(".") for part in p.relative_to(directory).parts):
            continue
        fmt = file_format(p)
        if fmt in wanted:
            found.append(raw_file(s, p, fmt))
    return sorted(found, key=lambda f: f.rel_path)


def raw_file(s: Settings, p: Path, fmt: str) -> RawFile:
    return RawFile(
        path=p,
        rel_path=p.relative_to(s.data_dir).as_posix(),
        content_hash=sha256_file(p),
        file_format=fmt,
    )


def now_utc() -> dt.datetime:
    """Wall clock for ``loaded_at`` (audit only), naive UTC, microseconds dropped."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def arrival_at(rel_path: str, loaded_at: dt.datetime) -> dt.datetime:
    """The last valid ``YYYY-MM-DD`` in the file name at the end of that day (23:59:59.999999
    UTC), else the load time."""
    name = rel_path.rsplit("/", 1)[-1]
    for y, m, d in reversed(_DATE_IN_NAME.findall(name)):
        try:
            day = dt.date(int(y), int(m), int(d))
        except ValueError:
            continue
        return dt.datetime.combine(day, dt.time.max)
    return loaded_at


def loaded_batch(con: duckdb.DuckDBPyConnection, f: RawFile) -> int | None:
    row = con.execute(
        "select min(batch_id) from raw.load_manifest where file_path = ? and content_hash = ?",
        [f.rel_path, f.content_hash],
    ).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def loaded_table(con: duckdb.DuckDBPyConnection, batch_id: int) -> str | None:
    row = con.execute(
        "select table_name from raw.load_manifest where batch_id = ?", [batch_id]
    ).fetchone()
    return None if row is None else str(row[0])


def next_batch_id(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("select coalesce(max(batch_id), 0) + 1 from raw.load_manifest").fetchone()
    assert row is not None
    return int(row[0])


@dataclass(frozen=True)
class Counts:
    raw_rows: int
    loaded_rows: int
    duplicate_rows: int
    quarantined_rows: int
    conflict_rows: int


def record_batch(
    con: duckdb.DuckDBPyConnection,
    *,
    batch_id: int,
    source: str,
    table_name: str,
    f: RawFile,
    arrival: dt.datetime,
    loaded_at: dt.datetime,
    c: Counts,
    status: str = "loaded",
    rejected_reason: str | None = None,
    warning: str | None = None,
) -> None:
    con.execute(
        "insert into raw.load_manifest (batch_id, source, table_name, file_path, content_hash, "
        "file_format, arrival_at, loaded_at, raw_rows, loaded_rows, duplicate_rows, "
        "quarantined_rows, conflict_rows, status, rejected_reason, warning) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            batch_id,
            source,
            table_name,
            f.rel_path,
            f.content_hash,
            f.file_format,
            arrival,
            loaded_at,
            c.raw_rows,
            c.loaded_rows,
            c.duplicate_rows,
            c.quarantined_rows,
            c.conflict_rows,
            status,
            rejected_reason,
            warning,
        ],
    )


def quarantine_reasons(con: duckdb.DuckDBPyConnection, batch_id: int) -> dict[str, int]:
    rows = con.execute(
        "select reason_code, count(*) from raw.quarantine where batch_id = ? group by all "
        "order by 1",
        [batch_id],
    ).fetchall()
    return {str(code): int(n) for code, n in rows}


def rejected_files(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int, str]]:
    """(file path, batch id, reason) of every rejected file whose path was not loaded since
    (a rejected file is retried only when its bytes change; once a new version loads, the old
    rejection is history), in path order."""
    rows = con.execute(
        """
        select r.file_path, r.batch_id, r.rejected_reason
        from raw.load_manifest r
        where r.status = 'rejected'
            and not exists (
                select 1 from raw.load_manifest l
                where l.file_path = r.file_path and l.batch_id > r.batch_id
                    and coalesce(l.status, 'loaded') = 'loaded'
            )
        order by r.file_path, r.batch_id
        """
    ).fetchall()
    return [(str(p), int(b), str(r)) for p, b, r in rows]


def file_warnings(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int, str]]:
    """(file path, batch id, warning) of every loaded file with a warning, in path order."""
    rows = con.execute(
        "select file_path, batch_id, warning from raw.load_manifest "
        "where warning is not null order by file_path, batch_id"
    ).fetchall()
    return [(str(p), int(b), str(w)) for p, b, w in rows]
