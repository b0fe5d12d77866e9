"""Admin-API JSON pages (``{data: [bucket, ...]}``, each bucket with ``results: [...]``) and
the common per-file steps of the provider loaders.

Counting unit: a bucket *result*. A bucket with ``results: []`` carries no data: it yields no
row and is counted in ``empty_buckets``. A malformed bucket (not an object; ``results`` missing
or not a list) is one raw row, quarantined ``malformed_bucket`` with the bucket as its record.
A file that is not valid JSON (or has no ``data`` list) is one raw row, quarantined as
``unparseable`` with the file text. A leading UTF-8 byte-order mark is dropped before parsing."""

from __future__ import annotations

import duckdb

from orchestration.ingest.manifest import Counts, RawFile
from orchestration.ingest.sqlexpr import lit

PAGE_TEMP = "_page_results"


def probe_error(con: duckdb.DuckDBPyConnection, sql: str) -> str | None:
    """Run ``sql`` on a separate cursor and return its error's first line, else None. A failed
    read of a file (not UTF-8, not Parquet) aborts the transaction it runs in: the loaders run
    inside the file's transaction, so a read that may fail is tried aside first."""
    cur = con.cursor()
    try:
        cur.execute(sql).fetchall()
    except duckdb.Error as exc:
        return str(exc).strip().splitlines()[0]
    finally:
        cur.close()
    return None


def _content(path: str) -> str:
    """The file's text as JSON, a leading UTF-8 byte-order mark dropped (not content)."""
    return f"(select ltrim(content, chr(65279)) as content from read_text({path}))"


def read_page(con: duckdb.DuckDBPyConnection, f: RawFile) -> tuple[bool, int]:
    """Create temp table ``_page_results(row_number, b, r, bucket_problem)`` with one row per
    bucket result (file order), and one row (``r`` NULL) per malformed bucket: a bucket that is
    not an object, or whose ``results`` is missing or not a list (``"results": "notalist"``).
    The loaders quarantine those as ``malformed_bucket`` with ``bucket_problem`` as the reason:
    the bucket is one raw row, never dropped. Returns (parsed, empty_buckets)."""
    con.execute(f"drop table if exists {PAGE_TEMP}")
    path = lit(str(f.path))
    content = _content(path)
    if probe_error(con, f"select length(content) from {content}") is not None:
        return False, 0  # not UTF-8 text: quarantine_unparseable_file says where
    ok = con.execute(
        f"select case when json_valid(content) then "
        f"coalesce(json_type(content::json -> '$.data') = 'ARRAY', false) else false end "
        f"from {content}"
    ).fetchone()
    if not ok or not ok[0]:
        return False, 0
    con.execute(f"""
create temp table {PAGE_TEMP} as
with doc as (select content::json as j from {content}),
buckets as (
    select u.n as bi, u.b,
        case
            when json_type(u.b) <> 'OBJECT' then 'bucket is not an object: ' || json_type(u.b)
            when json_type(u.b, '$.results') is null then 'bucket has no results list'
            when json_type(u.b, '$.results') <> 'ARRAY'
                then 'bucket results is not a list: ' || (u.b -> '$.results')::varchar
        end as bucket_problem
    from doc, unnest(json_extract(doc.j, '$.data[*]')) with ordinality as u(b, n)
),
results as (
    select bi, v.n as ri, b, v.r, null::varchar as bucket_problem
    from buckets, unnest(coalesce(json_extract(b, '$.results[*]'), [])) with ordinality as v(r, n)
    where bucket_problem is null
    union all
    select bi, 0 as ri, b, null::json as r, bucket_problem
    from buckets where bucket_problem is not null
)
select row_number() over (order by bi, ri) as row_number, b, r, bucket_problem from results
""")
    row = con.execute(
        f"select count(*) from {content} t, "
        f"unnest(json_extract(t.content::json, '$.data[*]')) as u(b) "
        f"where json_type(b) = 'OBJECT' and json_type(b, '$.results') = 'ARRAY' "
        f"and json_array_length(b, '$.results') = 0"
    ).fetchone()
    return True, int(row[0]) if row else 0


CSV_REJECTS = "_csv_rejects"


def read_csv_rows(con: duckdb.DuckDBPyConnection, f: RawFile, table: str, options: str) -> None:
    """Create temp ``table`` (``__row``, the CSV's columns as text) from a provider CSV. A line
    DuckDB cannot read as a row (too few or too many fields, invalid UTF-8) does not fail the
    file: it goes to temp table ``_csv_rejects(row_number, reason_detail, raw_record)``, to be
    quarantined ``unparseable`` by ``finish_csv_rejects``, and its neighbours load. Row numbers
    are 1-based data rows (the line minus the header) when every row is one line; with quoted
    line breaks the rejected rows are numbered after the good ones. Raises ``duckdb.Error``
    when the file cannot be read at all."""
    path = lit(str(f.path))
    for t in (table, CSV_REJECTS, "_csv_rej", "_csv_rej_scan"):
        con.execute(f"drop table if exists {t}")
    con.execute(
        f"create temp table _csv_read as select row_number() over () as __good, * "
        f"from read_csv({path}, header = true, all_varchar = true, {options}"
        f"store_rejects = true, rejects_table = '_csv_rej', rejects_scan = '_csv_rej_scan')"
    )
    con.execute(f"""
create temp table {CSV_REJECTS} as
select line - 1 as row_number,
    'line ' || line || ': ' || string_agg(error_message, '; ' order by column_idx)
        as reason_detail,
    first(csv_line order by column_idx) as raw_record
from _csv_rej group by line
""")
    row = con.execute(
        f"select (select count(*) from _csv_read), (select count(*) from {CSV_REJECTS}), "
        f"(select coalesce(max(row_number), 0) from {CSV_REJECTS})"
    ).fetchone()
    assert row is not None
    good, rejected, last = int(row[0]), int(row[1]), int(row[2])
    total = good + rejected
    if last > total:  # quoted line breaks: lines are not rows
        con.execute(
            f"update {CSV_REJECTS} r set row_number = {good} + n.k from (select row_number, "
            f"row_number() over (order by row_number) as k from {CSV_REJECTS}) n "
            f"where r.row_number = n.row_number"
        )
    con.execute(f"""
create temp table {table} as
with free as (
    select t.n, row_number() over (order by t.n) as k
    from range(1, {total} + 1) t(n)
    where t.n not in (select row_number from {CSV_REJECTS})
)
select free.n as __row, c.* exclude (__good)
from _csv_read c join free on free.k = c.__good
order by __row
""")
    for t in ("_csv_read", "_csv_rej", "_csv_rej_scan"):
        con.execute(f"drop table if exists {t}")


def finish_csv_rejects(
    con: duckdb.DuckDBPyConnection, f: RawFile, batch_id: int, source: str, c: Counts
) -> Counts:
    """Quarantine the rows ``read_csv_rows`` set aside; ``c`` plus them."""
    con.execute(
        f"insert into raw.quarantine select ?, ?, ?, row_number, 'unparseable', reason_detail, "
        f"raw_record from {CSV_REJECTS} order by row_number",
        [batch_id, source, f.rel_path],
    )
    row = con.execute(f"select count(*) from {CSV_REJECTS}").fetchone()
    con.execute(f"drop table if exists {CSV_REJECTS}")
    n = int(row[0]) if row else 0
    return Counts(c.raw_rows + n, c.loaded_rows, c.duplicate_rows, c.quarantined_rows + n, 0)


def quarantine_unparseable_file(
    con: duckdb.DuckDBPyConnection,
    f: RawFile,
    batch_id: int,
    source: str,
    detail: str = "not a JSON page with a data list",
) -> Counts:
    """The whole file as one quarantined row: ``unparseable`` with its text, or
    ``invalid_encoding`` (the first invalid byte's offset named) when it is not UTF-8, its text
    then decoded with U+FFFD for the invalid bytes. A Parquet file is ``unparseable`` with no
    text (the file itself is kept, its hash in the manifest)."""
    data = f.path.read_bytes()
    if f.file_format == "parquet":
        con.execute(
            "insert into raw.quarantine values (?, ?, ?, 1, 'unparseable', ?, null)",
            [batch_id, source, f.rel_path, detail],
        )
        return Counts(1, 0, 0, 1, 0)
    try:
        text, reason = data.decode("utf-8"), "unparseable"
    except UnicodeDecodeError as exc:
        text, reason = data.decode("utf-8", errors="replace"), "invalid_encoding"
        detail = f"not UTF-8 text: invalid byte at offset {exc.start}"
    con.execute(
        "insert into raw.quarantine values (?, ?, ?, 1, ?, ?, ?)",
        [batch_id, source, f.rel_path, reason, detail, text],
    )
    return Counts(1, 0, 0, 1, 0)


def finish(
    con: duckdb.DuckDBPyConnection,
    staged: str,
    table: str,
    columns: list[str],
    batch_id: int,
    f: RawFile,
    source: str,
) -> Counts:
    """Move a staged temp table (``row_number``, ``reason_code``, ``reason_detail``,
    ``raw_record`` and the table's columns) into quarantine and ``raw.<table>``."""
    con.execute(
        f"insert into raw.quarantine select ?, ?, ?, row_number, reason_code, reason_detail, "
        f"raw_record from {staged} where reason_code is not null order by row_number",
        [batch_id, source, f.rel_path],
    )
    cols = ", ".join(columns)
    con.execute(
        f"insert into raw.{table} (batch_id, file_path, row_number, {cols}) "
        f"select ?, ?, row_number, {cols} from {staged} where reason_code is null "
        f"order by row_number",
        [batch_id, f.rel_path],
    )
    row = con.execute(
        f"select count(*), count(*) filter (where reason_code is null) from {staged}"
    ).fetchone()
    assert row is not None
    total, loaded = int(row[0]), int(row[1])
    con.execute(f"drop table if exists {staged}")
    return Counts(total, loaded, 0, total - loaded, 0)


def group_by_literal(
    con: duckdb.DuckDBPyConnection, relation: str, dims: list[str], value: str
) -> str:
    """SQL literal: the sorted, comma-joined ``dims`` that are non-null somewhere in the file.
    ``value`` formats a dimension name into the expression reading it."""
    if not dims:
        return "''"
    checks = ", ".join(f"bool_or(({value.format(d=d)}) is not null)" for d in dims)
    row = con.execute(f"select {checks} from {relation}").fetchone()
    present = sorted(d for d, hit in zip(dims, row or (), strict=False) if hit)
    return lit(",".join(present))
