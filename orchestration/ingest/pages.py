"""Admin-API JSON pages (``{data: [bucket, ...]}``, each bucket with ``results: [...]``) and
the common per-file steps of the provider loaders.

Counting unit: a bucket *result*. A bucket with ``results: []`` carries no data: it yields no
row and is counted in ``empty_buckets``. A file that is not valid JSON (or has no ``data``
list) is one raw row, quarantined as ``unparseable`` with the file text."""

from __future__ import annotations

import duckdb

from orchestration.ingest.manifest import Counts, RawFile
from orchestration.ingest.sqlexpr import lit

PAGE_TEMP = "_page_results"


def read_page(con: duckdb.DuckDBPyConnection, f: RawFile) -> tuple[bool, int]:
    """Create temp table ``_page_results(row_number, b, r)`` with one row per bucket result
    (file order). Returns (parsed, empty_buckets)."""
    con.execute(f"drop table if exists {PAGE_TEMP}")
    path = lit(str(f.path))
    ok = con.execute(
        f"select case when json_valid(content) then "
        f"coalesce(json_type(content::json -> '$.data') = 'ARRAY', false) else false end "
        f"from read_text({path})"
    ).fetchone()
    if not ok or not ok[0]:
        return False, 0
    con.execute(f"""
create temp table {PAGE_TEMP} as
with doc as (select content::json as j from read_text({path})),
buckets as (
    select u.n as bi, u.b
    from doc, unnest(json_extract(doc.j, '$.data[*]')) with ordinality as u(b, n)
),
results as (
    select bi, v.n as ri, b, v.r
    from buckets, unnest(coalesce(json_extract(b, '$.results[*]'), [])) with ordinality as v(r, n)
)
select row_number() over (order by bi, ri) as row_number, b, r from results
""")
    row = con.execute(
        f"select count(*) from read_text({path}) t, "
        f"unnest(json_extract(t.content::json, '$.data[*]')) as u(b) "
        f"where coalesce(json_array_length(b, '$.results'), 0) = 0"
    ).fetchone()
    return True, int(row[0]) if row else 0


def quarantine_unparseable_file(
    con: duckdb.DuckDBPyConnection, f: RawFile, batch_id: int, source: str
) -> Counts:
    con.execute(
        f"insert into raw.quarantine select ?, ?, ?, 1, 'unparseable', "
        f"'not a JSON page with a data list', content from read_text({lit(str(f.path))})",
        [batch_id, source, f.rel_path],
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
