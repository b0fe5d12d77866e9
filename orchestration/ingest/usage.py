"""Usage events (``raw/usage/*``: JSONL CloudEvents, CSV, Parquet) -> ``raw.usage_events``.

All the work is DuckDB SQL over the whole file:

1. a format-specific *source* query yields, per raw row, its 1-based ``row_number``, the text of
   every field (``<f>_txt``) or its typed value when the file is typed (``<f>_nat``, Parquet), the
   extra ``data`` keys as JSON, and whether the row parsed;
2. one classification query types every field strictly and gives each bad row one reason code
   (first failing check, in the order of ``REASON_CODES``) and a detail naming field and value;
3. bad rows go to ``raw.quarantine`` with their original text; good rows are inserted with
   ``is_duplicate`` from a hash join on (source, id) against the rows already kept and the
   earlier rows of the same file; repeats whose payload differs are ``raw.usage_conflicts``.

Counting unit: a JSONL line that is not blank, a CSV data row, a Parquet row.

New Parquet files are classified in chunks of several files (``UsageFiles``, end of module); each
file is still stored as its own batch.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from orchestration.ingest.manifest import Counts, RawFile
from orchestration.ingest.sqlexpr import ident, lit, typed_parse
from orchestration.warehouse import USAGE_DIMENSION_FIELDS, USAGE_QUANTITY_FIELDS

REASON_CODES: tuple[str, ...] = (
    "unparseable",
    "missing_id",
    "missing_subject",
    "missing_time",
    "invalid_time",
    "invalid_quantity",
    "negative_quantity",
    "future_time",
    "unknown_customer",
    "unknown_event_type",
)
FIELDS: dict[str, str] = {**USAGE_DIMENSION_FIELDS, **USAGE_QUANTITY_FIELDS}
NUMERIC_FIELDS: tuple[str, ...] = tuple(f for f, t in FIELDS.items() if t != "VARCHAR")
ENVELOPE: tuple[str, ...] = ("id", "source", "type", "subject", "time")
IGNORED_FLAT: frozenset[str] = frozenset({"specversion", "datacontenttype", "dataschema"})
FUTURE_TOLERANCE = "interval 1 day"

_CSV_TEMP = ("_usage_csv", "_usage_csv_lines", "_usage_csv_rej", "_usage_csv_rej_scan")
_INT_TYPES = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
}


@dataclass(frozen=True)
class _Source:
    sql: str  # select with the columns described in the module docstring
    # expression turning the source's `raw_record` column into the original text; evaluated
    # only for quarantined rows (a Parquet row's struct becomes JSON text only when bad)
    raw_text: str = "raw_record"
    # columns of the source passed through classification unchanged (a chunk's file index)
    carry: tuple[str, ...] = ()


def _jsonl_source(path: str) -> _Source:
    known = "{" + ",".join(f'"{f}":null' for f in FIELDS) + "}"
    fields = ",\n        ".join(
        f"d->>{lit('$.' + chr(34) + f + chr(34))} as {f}_txt, null::{t} as {f}_nat"
        for f, t in FIELDS.items()
    )
    sql = f"""
with lines as (
    select u.n as row_number, rtrim(u.line, chr(13)) as line
    -- zipped unnest: a lateral unnest beside `content` copies the whole file into every row
    from (select unnest(l) as line, generate_subscripts(l, 1) as n
          from (select string_split(content, chr(10)) as l from read_text({lit(path)}))) u
),
parsed as (
    select row_number, line, case when json_valid(line) then line::json end as j
    from lines
    where trim(line, ' ' || chr(9) || chr(13)) <> ''
),
objects as (
    select *, j->'$.data' as d,
        coalesce(json_type(j) = 'OBJECT', false)
            and coalesce(json_type(j->'$.data') in ('OBJECT', 'NULL'), true) as parse_ok
    from parsed
)
select
    row_number,
    line as raw_record,
    parse_ok,
    case when j is null then 'not valid JSON'
         when json_type(j) <> 'OBJECT' then 'not a JSON object'
         else 'data is not a JSON object' end as parse_detail,
    j->>'$.id' as id_txt,
    j->>'$.source' as source_txt,
    j->>'$.type' as type_txt,
    j->>'$.subject' as subject_txt,
    j->>'$.time' as time_txt,
    null::timestamp as time_nat,
    {fields},
    case when json_type(d) = 'OBJECT' then
        nullif(json_merge_patch(d, {lit(known)}::json)::varchar, '{{}}')::json end as extra_data
from objects
"""
    return _Source(sql)


def _flat_source(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    row_number: str,
    raw_record: str | None,
    carry: tuple[str, ...] = (),
) -> _Source:
    """CSV (all text) and Parquet (typed) usage: envelope and data fields as flat columns.
    ``carry`` names columns the relation adds (not the file's) to pass through unchanged."""
    cols = con.execute(f"describe select * from {relation}").fetchall()
    added = {"file_row_number", "__k", "__row_number", "__raw_line", _CHUNK_PATH, *carry}
    types = {str(c[0]): str(c[1]).upper() for c in cols if str(c[0]) not in added}
    lower = {name.lower(): name for name in types}

    def txt_nat(field: str, target: str) -> tuple[str, str]:
        col = lower.get(field)
        if col is None:
            return "null::varchar", f"null::{target}"
        typ = types[col].split("(")[0]
        q = ident(col)
        if typ == "VARCHAR":
            return q, f"null::{target}"
        if target == "VARCHAR":
            return f"cast({q} as varchar)", "null::varchar"
        if target == "TIMESTAMP" and typ in (
            "TIMESTAMP",
            "TIMESTAMP_NS",
            "TIMESTAMP_MS",
            "TIMESTAMP_S",
            "DATE",
        ):
            return "null::varchar", f"cast({q} as timestamp)"
        if target == "TIMESTAMP" and typ == "TIMESTAMP WITH TIME ZONE":
            return "null::varchar", f"timezone('UTC', {q})"
        if target == "BIGINT" and typ in _INT_TYPES:
            return "null::varchar", f"cast({q} as bigint)"
        if target.startswith("DECIMAL") and (typ in _INT_TYPES or typ == "DECIMAL"):
            return "null::varchar", f"cast({q} as {target})"
        # anything else (double, boolean, ...) is judged as text
        return f"cast({q} as varchar)", f"null::{target}"

    env = []
    for f in ENVELOPE:
        t, n = txt_nat(f, "TIMESTAMP" if f == "time" else "VARCHAR")
        env.append(f"{t} as {f}_txt")
        if f == "time":
            env.append(f"{n} as time_nat")
    fields = []
    for f, typ in FIELDS.items():
        t, n = txt_nat(f, typ)
        fields.append(f"{t} as {f}_txt, {n} as {f}_nat")
    used = set(ENVELOPE) | set(FIELDS) | IGNORED_FLAT
    extras = [name for low, name in sorted(lower.items()) if low not in used]
    if extras:
        pack = ", ".join(f"{ident(e)} := {ident(e)}" for e in extras)
        not_all_null = " or ".join(f"{ident(e)} is not null" for e in extras)
        extra = f"case when {not_all_null} then to_json(struct_pack({pack})) end"
    else:
        extra = "null::json"
    all_cols = ", ".join(f"{ident(c)} := {ident(c)}" for c in types)
    rec = raw_record or f"struct_pack({all_cols})"
    passed = "".join(f"{c}, " for c in carry)
    sql = f"""
select
    {passed}{row_number} as row_number,
    {rec} as raw_record,
    true as parse_ok,
    null::varchar as parse_detail,
    {", ".join(env)},
    {", ".join(fields)},
    {extra} as extra_data
from {relation}
"""
    return _Source(sql, "raw_record" if raw_record else "to_json(raw_record)::varchar", carry)


def _classify_sql(src: _Source, arrival: str) -> str:
    """Classify every row of ``src``; ``arrival`` is a SQL TIMESTAMP expression for the file's
    arrival: a literal, or a column the source carries (a chunk of files)."""
    parsed = ",\n        ".join(
        f"{typed_parse(f + '_txt', t)} as {f}_p" for f, t in FIELDS.items() if t != "VARCHAR"
    )
    typed = ",\n        ".join(
        f"coalesce({f}_nat, {f}_p) as {f}, ({f}_txt is not null and {f}_p is null) as {f}_bad, "
        f"{f}_txt"
        if t != "VARCHAR"
        else f"{f}_txt as {f}, false as {f}_bad"
        for f, t in FIELDS.items()
    )
    any_bad = " or ".join(f"{f}_bad" for f in NUMERIC_FIELDS)
    bad_detail = ", ".join(
        f"case when {f}_bad then '{f} is not a number: ' || {f}_txt end" for f in NUMERIC_FIELDS
    )
    any_neg = " or ".join(f"coalesce({f} < 0, false)" for f in USAGE_QUANTITY_FIELDS)
    neg_detail = ", ".join(
        f"case when {f} < 0 then '{f} is negative: ' || {f}::varchar end"
        for f in USAGE_QUANTITY_FIELDS
    )
    hash_cols = ", ".join(
        ["event_type", "customer_id", "event_time", *FIELDS, "extra_data::varchar"]
    )
    cols = ", ".join(FIELDS)
    carried = "".join(f"{c}, " for c in src.carry)
    return f"""
with src as ({src.sql}),
parsed as (
    select *, {typed_parse("time_txt", "TIMESTAMP")} as time_p,
        {parsed}
    from src
),
typed as (
    select
        {carried}row_number, raw_record, parse_ok, parse_detail,
        nullif(trim(id_txt), '') as event_id,
        nullif(trim(source_txt), '') as event_source,
        nullif(trim(type_txt), '') as event_type,
        nullif(trim(subject_txt), '') as customer_id,
        time_txt,
        coalesce(time_nat, time_p) as event_time,
        {typed},
        extra_data
    from parsed
),
customers as (select distinct trim(customer_id) as customer_id from raw.customers),
event_types as (select distinct trim(event_type) as event_type from raw.meters),
checked as (
    select
        t.*,
        case
            when not t.parse_ok then 'unparseable'
            when t.event_id is null or t.event_source is null then 'missing_id'
            when t.customer_id is null then 'missing_subject'
            when t.event_time is null and nullif(trim(t.time_txt), '') is null
                then 'missing_time'
            when t.event_time is null then 'invalid_time'
            when {any_bad} then 'invalid_quantity'
            when {any_neg} then 'negative_quantity'
            when t.event_time > {arrival} + {FUTURE_TOLERANCE} then 'future_time'
            when c.customer_id is null then 'unknown_customer'
            when e.event_type is null then 'unknown_event_type'
        end as reason_code
    from typed t
    left join customers c on c.customer_id = t.customer_id
    left join event_types e on e.event_type = t.event_type
)
select
    {carried}row_number,
    reason_code,
    case reason_code
        when 'unparseable' then parse_detail
        when 'missing_id' then
            case when event_id is null then 'id is missing' else 'source is missing' end
        when 'missing_subject' then 'subject (customer id) is missing'
        when 'missing_time' then 'time is missing'
        when 'invalid_time' then 'time is not an ISO 8601 timestamp: ' || time_txt
        when 'invalid_quantity' then concat_ws('; ', {bad_detail})
        when 'negative_quantity' then concat_ws('; ', {neg_detail})
        when 'future_time' then 'time ' || strftime(event_time, '%Y-%m-%dT%H:%M:%S')
            || ' is more than 1 day after the file arrival ' || ({arrival})::varchar
        when 'unknown_customer' then 'subject ' || customer_id || ' is not in customers.csv'
        when 'unknown_event_type' then 'type '
            || coalesce(event_type, '(missing)') || ' is not an event type of meters.yml'
    end as reason_detail,
    case when reason_code is not null then {src.raw_text} end as raw_record,
    event_source, event_id, event_type, customer_id, event_time, {cols}, extra_data,
    hash({hash_cols}) as payload_hash
from checked
"""


def _source_for(con: duckdb.DuckDBPyConnection, f: RawFile) -> tuple[_Source, int]:
    """The source query for a usage file, and the number of rows rejected by the CSV reader
    (already written to quarantine by the caller via ``_csv_rejects``)."""
    path = str(f.path)
    if f.file_format == "jsonl":
        return _jsonl_source(path), 0
    if f.file_format == "parquet":
        rel = f"read_parquet({lit(path)}, file_row_number = true)"
        return _flat_source(con, rel, "file_row_number + 1", None), 0
    if f.file_format == "csv":
        for t in _CSV_TEMP:
            con.execute(f"drop table if exists {t}")
        con.execute(
            f"create temp table _usage_csv as select row_number() over () as __k, * "
            f"from read_csv({lit(path)}, header = true, "
            f"all_varchar = true, store_rejects = true, rejects_table = '_usage_csv_rej', "
            f"rejects_scan = '_usage_csv_rej_scan')"
        )
        # map the k-th parsed row to the k-th data line that was not rejected (exact unless a
        # quoted field spans lines; then rows are numbered in order and keep their values as JSON)
        con.execute(f"""
create temp table _usage_csv_lines as
select row_number() over (order by n) as k, n - 1 as data_row, line
from (
    select u.n, rtrim(u.line, chr(13)) as line
    -- zipped unnest: a lateral unnest beside `content` copies the whole file into every row
    from (select unnest(l) as line, generate_subscripts(l, 1) as n
          from (select string_split(content, chr(10)) as l from read_text({lit(path)}))) u
) l
where n > 1 and trim(line, ' ' || chr(9) || chr(13)) <> ''
    and n not in (select line from _usage_csv_rej)""")
        n = con.execute(
            "select (select count(*) from _usage_csv_lines), "
            "(select count(*) from _usage_csv), "
            "(select count(*) from _usage_csv_rej)"
        ).fetchone()
        assert n is not None
        if n[0] == n[1]:
            rel = (
                "(select c.*, l.data_row as __row_number, l.line as __raw_line "
                "from _usage_csv c join _usage_csv_lines l on l.k = c.__k)"
            )
            src = _flat_source(con, rel, "__row_number", "__raw_line")
        else:
            src = _flat_source(con, "_usage_csv", "__k", None)
        return src, int(n[2])
    raise ValueError(f"unsupported usage format: {f.file_format}")


def _arrival_sql(arrival: dt.datetime) -> str:
    return f"{lit(arrival.isoformat(sep=' '))}::timestamp"


def load_usage_file(
    con: duckdb.DuckDBPyConnection, f: RawFile, batch_id: int, arrival: dt.datetime
) -> Counts:
    """Load one usage file as batch ``batch_id`` on its own (the caller owns the transaction and
    the manifest row)."""
    src, n_rejected = _source_for(con, f)
    con.execute("drop table if exists _usage_cls")
    con.execute(f"create temp table _usage_cls as {_classify_sql(src, _arrival_sql(arrival))}")
    try:
        return _store_classified(con, "_usage_cls", f, batch_id, n_rejected)
    finally:
        con.execute("drop table if exists _usage_cls")
        if f.file_format == "csv":
            for t in _CSV_TEMP:
                con.execute(f"drop table if exists {t}")


def _store_classified(
    con: duckdb.DuckDBPyConnection, cls: str, f: RawFile, batch_id: int, n_rejected: int
) -> Counts:
    """Write the classified rows ``cls`` (a table, or a parenthesized query over one) of file
    ``f`` as batch ``batch_id``: bad rows to quarantine, good rows to raw.usage_events with their
    duplicate flag, conflicting repeats to raw.usage_conflicts."""
    if f.file_format == "csv" and n_rejected:
        # rows the CSV reader could not split into the header's columns (data row = line - 1)
        con.execute(
            "insert into raw.quarantine select ?, 'usage', ?, line - 1, 'unparseable', "
            "'CSV line ' || line || ': ' || error_message, csv_line "
            "from _usage_csv_rej order by line",
            [batch_id, f.rel_path],
        )
    con.execute(
        "insert into raw.quarantine select ?, 'usage', ?, row_number, reason_code, "
        f"reason_detail, raw_record from {cls} where reason_code is not null "
        "order by row_number",
        [batch_id, f.rel_path],
    )
    cols = ", ".join(FIELDS)
    con.execute(
        f"""
insert into raw.usage_events (batch_id, file_path, row_number, event_source, event_id,
    event_type, customer_id, event_time, {cols}, extra_data, payload_hash, is_duplicate)
-- each subquery reads the classified rows itself: a CTE over them referenced twice would be
-- materialized, a full copy of the file's rows
select ?, ?, ok.row_number, ok.event_source, ok.event_id, ok.event_type, ok.customer_id,
    ok.event_time, {", ".join("ok." + c for c in FIELDS)}, ok.extra_data, ok.payload_hash,
    (p.event_id is not null or coalesce(ok.row_number <> r.first_row, false)) as is_duplicate
from {cls} ok
left join (
    -- keys seen more than once in this file (rare): a small build side
    select event_source, event_id, min(row_number) as first_row
    from {cls} where reason_code is null
    group by all having count(*) > 1
) r on r.event_source = ok.event_source and r.event_id = ok.event_id
left join (
    -- keys kept by an earlier batch
    select e.event_source, e.event_id
    from raw.usage_events e
    semi join {cls} c
        on c.event_source = e.event_source and c.event_id = e.event_id and c.reason_code is null
    where not e.is_duplicate
) p on p.event_source = ok.event_source and p.event_id = ok.event_id
where ok.reason_code is null
""",
        [batch_id, f.rel_path],
    )
    con.execute(
        """
insert into raw.usage_conflicts
with dups as (
    select event_source, event_id, row_number, payload_hash
    from raw.usage_events where batch_id = ? and is_duplicate
),
kept as (
    select e.event_source, e.event_id, e.batch_id, e.row_number, e.payload_hash
    from raw.usage_events e
    semi join dups d on d.event_source = e.event_source and d.event_id = e.event_id
    where not e.is_duplicate
)
select d.event_source, d.event_id, k.batch_id, k.row_number, ?, d.row_number, ?
from dups d
join kept k on k.event_source = d.event_source and k.event_id = d.event_id
where d.payload_hash <> k.payload_hash
order by d.row_number
""",
        [batch_id, batch_id, f.rel_path],
    )
    row = con.execute(
        f"""
select
    (select count(*) from {cls}),
    (select count(*) from {cls} where reason_code is not null),
    (select count(*) filter (where is_duplicate) from raw.usage_events where batch_id = $1),
    (select count(*) filter (where not is_duplicate) from raw.usage_events where batch_id = $1),
    (select count(*) from raw.usage_conflicts where conflicting_batch_id = $1)
""",
        [batch_id],
    ).fetchone()
    assert row is not None
    total, quarantined, dups, loaded, conflicts = (int(x) for x in row)
    return Counts(
        raw_rows=total + n_rejected,
        loaded_rows=loaded,
        duplicate_rows=dups,
        quarantined_rows=quarantined + n_rejected,
        conflict_rows=conflicts,
    )


# --- Parquet files classified in chunks -------------------------------------------------------
#
# DuckDB reads a Parquet file one row group per thread, and a day's file of a few hundred
# thousand rows is usually one row group: read alone, it keeps one core busy. New Parquet files
# with the same schema are therefore read by one `read_parquet([...])` (the files in parallel) and
# classified together into a temp table of up to CHUNK_ROWS rows; each file is then stored from
# it as its own batch, in its own transaction, exactly as a file loaded alone. A chunk that cannot
# be read or classified falls back to loading its files one by one (so an error names its file).

CHUNK_ROWS = 4_000_000
_CHUNK_TABLE = "_usage_chunk"
_CHUNK_PATH = "__meterline_file"  # the file-name column read_parquet adds to a chunk's rows
_CHUNK_CARRY = ("__file_index", "__arrival")


@dataclass
class _Chunk:
    files: list[tuple[RawFile, dt.datetime]]
    state: str = "planned"  # planned | classified | failed | dropped


def _parquet_shape(con: duckdb.DuckDBPyConnection, f: RawFile) -> tuple[str, int] | None:
    """(schema signature, row count) of a Parquet file from its footer; None if unreadable."""
    try:
        cols = con.execute(f"describe select * from read_parquet({lit(str(f.path))})").fetchall()
        row = con.execute(
            f"select num_rows from parquet_file_metadata({lit(str(f.path))})"
        ).fetchone()
    except duckdb.Error:
        return None
    if row is None:
        return None
    return repr([(str(c[0]), str(c[1])) for c in cols]), int(row[0])


def plan_chunks(
    con: duckdb.DuckDBPyConnection,
    pending: list[tuple[RawFile, dt.datetime]],
    max_rows: int = CHUNK_ROWS,
) -> list[_Chunk]:
    """Consecutive new Parquet files with the same schema, up to ``max_rows`` rows per chunk."""
    chunks: list[_Chunk] = []
    current: _Chunk | None = None
    current_key, current_rows = "", 0
    for f, arrival in pending:
        shape = _parquet_shape(con, f) if f.file_format == "parquet" else None
        if shape is None:
            current = None
            continue
        key, rows = shape
        if current is None or key != current_key or current_rows + rows > max_rows:
            current = _Chunk([])
            chunks.append(current)
            current_key, current_rows = key, 0
        current.files.append((f, arrival))
        current_rows += rows
    return chunks


class UsageFiles:
    """The loader of ``load_files`` for usage: Parquet files through their chunk, every other
    file (and any file of a failed chunk) alone."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, pending: list[tuple[RawFile, dt.datetime]]
    ) -> None:
        self._where: dict[str, tuple[_Chunk, int]] = {}
        for chunk in plan_chunks(con, pending):
            for i, (f, _) in enumerate(chunk.files):
                self._where[f.rel_path] = (chunk, i)

    def prepare(self, con: duckdb.DuckDBPyConnection, f: RawFile) -> None:
        """Classify ``f``'s chunk if it is not yet (outside any transaction: a failed read must
        not abort the file's transaction)."""
        entry = self._where.get(f.rel_path)
        if entry is None or entry[0].state != "planned":
            return
        chunk = entry[0]
        try:
            _classify_chunk(con, chunk)
            chunk.state = "classified"
        except duckdb.Error:
            con.execute(f"drop table if exists {_CHUNK_TABLE}")
            chunk.state = "failed"

    def load(
        self, con: duckdb.DuckDBPyConnection, f: RawFile, batch_id: int, arrival: dt.datetime
    ) -> tuple[str, Counts, int]:
        entry = self._where.get(f.rel_path)
        chunk, i = entry if entry is not None else (None, 0)
        if chunk is None or chunk.state != "classified" or chunk.files[i][1] != arrival:
            return "usage_events", load_usage_file(con, f, batch_id, arrival), 0
        rows = f"(select * from {_CHUNK_TABLE} where __file_index = {i})"
        counts = _store_classified(con, rows, f, batch_id, 0)
        if i == len(chunk.files) - 1:
            con.execute(f"drop table if exists {_CHUNK_TABLE}")
            chunk.state = "dropped"
        return "usage_events", counts, 0


def _classify_chunk(con: duckdb.DuckDBPyConnection, chunk: _Chunk) -> None:
    paths = ", ".join(lit(str(f.path)) for f, _ in chunk.files)
    files = ", ".join(
        f"({i}, {lit(str(f.path))}, {_arrival_sql(arrival)})"
        for i, (f, arrival) in enumerate(chunk.files)
    )
    relation = f"""(
    select m.__file_index, m.__arrival, p.*
    from read_parquet([{paths}], filename = {lit(_CHUNK_PATH)}, file_row_number = true) p
    join (values {files}) m(__file_index, __path, __arrival) on m.__path = p.{_CHUNK_PATH}
)"""
    src = _flat_source(con, relation, "file_row_number + 1", None, _CHUNK_CARRY)
    con.execute(f"create or replace temp table {_CHUNK_TABLE} as {_classify_sql(src, '__arrival')}")
