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
import os
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.ingest.manifest import Counts, RawFile
from orchestration.ingest.results import FileRejected
from orchestration.ingest.sqlexpr import DEC_PATTERN, ident, lit, typed_parse
from orchestration.warehouse import USAGE_DIMENSION_FIELDS, USAGE_QUANTITY_FIELDS

REASON_CODES: tuple[str, ...] = (
    "invalid_encoding",
    "unparseable",
    "missing_id",
    "missing_subject",
    "missing_time",
    "invalid_time",
    "time_out_of_range",
    "invalid_quantity",
    "quantity_out_of_range",
    "negative_quantity",
    "future_time",
    "unknown_customer",
    "unknown_event_type",
)
# a whole file that cannot be read: one quarantine row, the manifest says `rejected`
FILE_REASON = "unreadable_file"
FIELDS: dict[str, str] = {**USAGE_DIMENSION_FIELDS, **USAGE_QUANTITY_FIELDS}
NUMERIC_FIELDS: tuple[str, ...] = tuple(f for f, t in FIELDS.items() if t != "VARCHAR")
ENVELOPE: tuple[str, ...] = ("id", "source", "type", "subject", "time")
IGNORED_FLAT: frozenset[str] = frozenset({"specversion", "datacontenttype", "dataschema"})
FUTURE_TOLERANCE = "interval 1 day"

# The largest quantity one event may carry in any quantity field (docs/design.md, "Poison
# values": derived so that no rating, tier, credit, cost or allocation step can overflow
# DECIMAL(38) / HUGEINT). Larger values are quarantined `quantity_out_of_range`.
QUANTITY_CEILING = 10**10
# Events before this instant are quarantined `time_out_of_range` (a year-1 event would open a
# draft invoice for every month since). Override with METERLINE_MIN_EVENT_TIME (ISO 8601, UTC).
DEFAULT_MIN_EVENT_TIME = dt.datetime(2020, 1, 1)
MIN_EVENT_TIME_ENV = "METERLINE_MIN_EVENT_TIME"
# RFC 3339 date-time (also a bare date, or ' ' for 'T'; 't' and 'z' in any case), offsets
# within -23:59..+23:59. Stricter than sqlexpr.TS_PATTERN, which accepts +25:00.
USAGE_TS_PATTERN = (
    r"\d{4}-\d{2}-\d{2}([ Tt]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?"
    r"([Zz]|[+-]([01]\d|2[0-3])(:?[0-5]\d)?)?"
)
# The canonical UTC form of that pattern (upper-case 'T' and 'Z', at most microseconds: exact in
# a TIMESTAMP): most producers write it, and `_time_parse` casts it without the general path.
USAGE_TS_UTC = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z"
# Parquet files whose schema is deeper or wider than this are rejected from their footer
# alone, before any data is read: DuckDB's work on nested lists grows exponentially with
# depth (a 6.5 KB file with a list nested 40 levels hung ingest). The depth counts Parquet
# schema levels (a list takes two, a struct one): 16 allows e.g. a `data` struct holding a
# list of structs of lists.
PARQUET_MAX_DEPTH = 16
PARQUET_MAX_COLUMNS = 1000
# a duckdb error of these kinds while reading a file is the file's fault: it is rejected. Others
# (I/O, out of memory, interrupts, internal errors) may pass: they stop the run, the file is
# retried on the next one.
REJECTABLE_ERRORS: tuple[type[Exception], ...] = (
    duckdb.InvalidInputException,
    duckdb.ConversionException,
    duckdb.OutOfRangeException,
    duckdb.BinderException,
    duckdb.NotImplementedException,
    duckdb.ParserException,
    FileRejected,
)


def min_event_time() -> dt.datetime:
    """The earliest event time accepted (naive UTC), from ``$METERLINE_MIN_EVENT_TIME``."""
    text = os.environ.get(MIN_EVENT_TIME_ENV, "").strip()
    if not text:
        return DEFAULT_MIN_EVENT_TIME
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as e:
        raise ValueError(
            f"{MIN_EVENT_TIME_ENV}={text!r} is not an ISO 8601 date or date-time"
        ) from e
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _time_parse(expr: str) -> str:
    """Text -> TIMESTAMP (UTC), NULL unless RFC 3339-like (``USAGE_TS_PATTERN``); a value
    without offset is UTC. Text in the canonical UTC form (``USAGE_TS_UTC``) is cast to
    TIMESTAMP directly, any other text takes ``_time_parse_general``: the form is a subset of the
    pattern and both give it the same value (tests/test_ingest_usage.py), and the direct cast
    saves ~0.12 s per million rows, a fifth of classifying a typed Parquet row."""
    return (
        f"(case when regexp_full_match({expr}, {lit(USAGE_TS_UTC)}) "
        f"then try_cast({expr} as timestamp) else {_time_parse_general(expr)} end)"
    )


def _time_parse_general(expr: str) -> str:
    """``_time_parse`` for any text: trimmed and upper-cased, cast with its offset, then UTC."""
    return (
        f"(case when regexp_full_match(trim({expr}), {lit(USAGE_TS_PATTERN)}) "
        f"then timezone('UTC', try_cast(upper(trim({expr})) as timestamptz)) end)"
    )


_CSV_TEMP = ("_usage_csv", "_usage_csv_lines", "_usage_csv_rej", "_usage_csv_rej_scan")
# integer types every value of which fits a BIGINT (UBIGINT, HUGEINT may not: judged as text)
_BIGINT_SAFE = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"}


@dataclass(frozen=True)
class _Source:
    sql: str  # select with the columns described in the module docstring
    # expression turning the source's `raw_record` column into the original text; evaluated
    # only for quarantined rows (a Parquet row's struct becomes JSON text only when bad)
    raw_text: str = "raw_record"
    # columns of the source passed through classification unchanged (a chunk's file index)
    carry: tuple[str, ...] = ()


def _jsonl_source(path: str) -> _Source:
    """CloudEvents JSONL. An event without a ``data`` object (absent or null) carries its data
    keys at the top level, as CSV and Parquet rows do: every key but the envelope's is read as
    a data key. A UTF-8 byte order mark before the first line is dropped."""
    known = "{" + ",".join(f'"{f}":null' for f in FIELDS) + "}"
    envelope = "{" + ",".join(f'"{k}":null' for k in (*ENVELOPE, *IGNORED_FLAT, "data")) + "}"
    fields = ",\n        ".join(
        f"d->>{lit('$.' + chr(34) + f + chr(34))} as {f}_txt, null::{t} as {f}_nat"
        for f, t in FIELDS.items()
    )
    sql = f"""
with lines as (
    select u.n as row_number,
        rtrim(case when u.n = 1 then ltrim(u.line, chr(65279)) else u.line end, chr(13)) as line
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
    select *,
        case
            when json_type(j->'$.data') = 'OBJECT' then j->'$.data'
            when json_type(j) = 'OBJECT' and coalesce(json_type(j->'$.data') = 'NULL', true)
                then json_merge_patch(j, {lit(envelope)}::json)
        end as d,
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
    ``carry`` names columns the relation adds (not the file's) to pass through unchanged.

    Layouts read: data keys as plain columns (``input_tokens``), as ``data.``-prefixed columns
    (``data.input_tokens``, a CSV header written from nested JSON), or as the fields of a
    ``data`` STRUCT column (Parquet in CloudEvents shape). A ``data`` column of any other type
    (e.g. JSON text) is refused (``FileRejected``)."""
    cols = con.execute(f"describe select * from {relation}").fetchall()
    added = {"file_row_number", "__k", "__row_number", "__raw_line", _CHUNK_PATH, *carry}
    types = {str(c[0]): str(c[1]).upper() for c in cols if str(c[0]) not in added}
    # lower-cased field name -> (SQL expression, type); `data.x` columns and the fields of a
    # `data` struct are data keys named `x` (they win over a plain column of the same name)
    resolved: dict[str, tuple[str, str]] = {}
    nested: dict[str, tuple[str, str]] = {}
    key_of: dict[str, str] = {}  # lower-cased name -> the key as written (for extra_data)
    for name, typ in types.items():
        low = name.lower()
        if low == "data":
            if not typ.startswith("STRUCT"):
                raise FileRejected(
                    f"column {name} is {typ}, not a struct: write the data keys as columns "
                    "(input_tokens or data.input_tokens) or as a struct column `data`"
                )
            fields = con.execute(f"describe select {ident(name)}.* from {relation}").fetchall()
            for fc in fields:
                key = str(fc[0])
                nested[key.lower()] = (f"{ident(name)}.{ident(key)}", str(fc[1]).upper())
                key_of.setdefault(key.lower(), key)
        elif low.startswith("data.") and len(low) > 5:
            nested[low[5:]] = (ident(name), typ)
            key_of.setdefault(low[5:], name[5:])
        else:
            resolved[low] = (ident(name), typ)
            key_of[low] = name
    for low, entry in nested.items():
        if low not in ENVELOPE:
            resolved[low] = entry

    def txt_nat(field: str, target: str) -> tuple[str, str]:
        entry = resolved.get(field)
        if entry is None:
            return "null::varchar", f"null::{target}"
        q, full_type = entry
        typ = full_type.split("(")[0]
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
        if target == "BIGINT" and typ in _BIGINT_SAFE:
            return "null::varchar", f"cast({q} as bigint)"
        if target.startswith("DECIMAL") and typ in _BIGINT_SAFE:
            return "null::varchar", f"cast({q} as {target})"
        # anything else (UBIGINT/HUGEINT that may not fit, DECIMAL of another scale, double,
        # boolean, ...) is judged as text: range and scale are checked there, never cast blindly
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
    extras = [(low, q) for low, (q, _) in sorted(resolved.items()) if low not in used]
    if extras:
        pack = ", ".join(f"{ident(key_of[low])} := {q}" for low, q in extras)
        not_all_null = " or ".join(f"{q} is not null" for _, q in extras)
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


def _scale(typ: str) -> int | None:
    """The scale of a DECIMAL(p,s) type name, else None."""
    m = re.fullmatch(r"DECIMAL\(\d+,\s*(\d+)\)", typ.upper())
    return int(m.group(1)) if m else None


def _classify_sql(src: _Source, arrival: str, floor: dt.datetime | None = None) -> str:
    """Classify every row of ``src``; ``arrival`` is a SQL TIMESTAMP expression for the file's
    arrival: a literal, or a column the source carries (a chunk of files). ``floor`` is the
    earliest event time accepted (default: ``min_event_time()``)."""
    floor_sql = _arrival_sql(floor or min_event_time())
    ceiling = str(QUANTITY_CEILING)
    parsed = ",\n        ".join(
        f"{typed_parse(f + '_txt', t)} as {f}_p" for f, t in FIELDS.items() if t != "VARCHAR"
    )
    # the value as a DOUBLE, only to compare it with the ceiling (never stored)
    approx = ",\n        ".join(
        f"coalesce({f}_nat::double, case when regexp_full_match(trim({f}_txt), "
        f"{lit(DEC_PATTERN)}) then try_cast(trim({f}_txt) as double) end) as {f}_approx"
        for f in USAGE_QUANTITY_FIELDS
    )
    # digits beyond the stored scale (e.g. gpu_seconds 1.0000001 into DECIMAL(38,6)) would be
    # rounded away: such a value is refused, never rounded silently (compared at 25 places,
    # which hold every value up to the ceiling)
    precise = {
        f: f"coalesce(try_cast(trim({f}_txt) as decimal(38, 25)) "
        f"<> try_cast(try_cast(trim({f}_txt) as {t}) as decimal(38, 25)), false)"
        for f, t in FIELDS.items()
        if (_scale(t) or 0) > 0
    }
    big = {f: f"coalesce(abs({f}_approx) > {ceiling}, false)" for f in USAGE_QUANTITY_FIELDS}

    def bad(f: str) -> str:
        # text that does not parse, or loses digits; a value above the ceiling is not "bad"
        # but out of range (its own reason)
        cond = f"{f}_p is null" + (f" or {precise[f]}" if f in precise else "")
        out = f"({f}_txt is not null and ({cond})"
        return out + (f" and not {big[f]})" if f in big else ")")

    typed = ",\n        ".join(
        f"coalesce({f}_nat, {f}_p) as {f}, {bad(f)} as {f}_bad, {f}_txt"
        if t != "VARCHAR"
        else f"{f}_txt as {f}, false as {f}_bad"
        for f, t in FIELDS.items()
    )
    approx_cols = ", ".join(f"{f}_approx" for f in USAGE_QUANTITY_FIELDS)
    any_bad = " or ".join(f"{f}_bad" for f in NUMERIC_FIELDS)
    bad_detail = ", ".join(
        f"case when {f}_bad then "
        + (
            f"case when {precise[f]} then '{f} has more than {_scale(FIELDS[f])} decimal "
            f"places (the stored scale): ' || {f}_txt else '{f} is not a number: ' || {f}_txt end"
            if f in precise
            else f"'{f} is not a number: ' || {f}_txt"
        )
        + " end"
        for f in NUMERIC_FIELDS
    )
    any_big = " or ".join(big.values())
    big_detail = ", ".join(
        f"case when {cond} then '{f} ' || coalesce({f}_txt, {f}::varchar) "
        f"|| ' is above the ceiling of {QUANTITY_CEILING:,} per event' end"
        for f, cond in big.items()
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
    select *, {_time_parse("time_txt")} as time_p,
        {parsed},
        {approx}
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
        {approx_cols},
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
            when t.event_time < {floor_sql} then 'time_out_of_range'
            when {any_bad} then 'invalid_quantity'
            when {any_big} then 'quantity_out_of_range'
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
        when 'time_out_of_range' then 'time ' || coalesce(time_txt, event_time::varchar)
            || ' is before the earliest accepted event time ' || ({floor_sql})::varchar
            || ' ({MIN_EVENT_TIME_ENV})'
        when 'invalid_quantity' then concat_ws('; ', {bad_detail})
        when 'quantity_out_of_range' then concat_ws('; ', {big_detail})
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


def _source_for(
    con: duckdb.DuckDBPyConnection, f: RawFile, path: str | None = None
) -> tuple[_Source, int]:
    """The source query for a usage file (read from ``path``, default the file itself: a
    sanitized copy when some lines were not UTF-8), and the number of rows rejected by the CSV
    reader (written to quarantine by ``_store_classified`` from ``_usage_csv_rej``)."""
    path = path or str(f.path)
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
            # one row per rejected line (a short row is rejected once per missing column)
            "(select count(distinct line) from _usage_csv_rej)"
        ).fetchone()
        assert n is not None
        if n[0] == 0 and n[2] == 0:
            # no data line: whatever the reader made of blank lines is not a row
            rel = "(select * from _usage_csv where false)"
            src = _flat_source(con, rel, "__k", None)
        elif n[0] == n[1]:
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
    con: duckdb.DuckDBPyConnection,
    f: RawFile,
    batch_id: int,
    arrival: dt.datetime,
    *,
    sanitized: _Sanitized | None = None,
) -> Counts:
    """Load one usage file as batch ``batch_id`` on its own (the caller owns the transaction and
    the manifest row). ``sanitized``: the file's lines that are not UTF-8, and a copy of the file
    with those lines blanked, which is read instead."""
    # on an error the caller rolls the transaction back, which drops the temp tables made in it
    src, n_rejected = _source_for(con, f, str(sanitized.path) if sanitized else None)
    con.execute("drop table if exists _usage_cls")
    con.execute(f"create temp table _usage_cls as {_classify_sql(src, _arrival_sql(arrival))}")
    c = _store_classified(con, "_usage_cls", f, batch_id, n_rejected)
    if sanitized is not None and sanitized.bad_lines:
        c = _store_invalid_encoding(con, f, batch_id, sanitized, c)
    con.execute("drop table if exists _usage_cls")
    if f.file_format == "csv":
        for t in _CSV_TEMP:
            con.execute(f"drop table if exists {t}")
    return c


def _store_invalid_encoding(
    con: duckdb.DuckDBPyConnection, f: RawFile, batch_id: int, sanitized: _Sanitized, c: Counts
) -> Counts:
    """Quarantine the lines that were not UTF-8 (``invalid_encoding``), one row each: a JSONL
    line keeps its line number, a CSV line its data row (line - 1)."""
    shift = 1 if f.file_format == "csv" else 0
    rows = [
        (batch_id, f.rel_path, line - shift, text, offset)
        for line, offset, text in sanitized.bad_lines
    ]
    con.execute(
        "insert into raw.quarantine select ?, 'usage', ?, r, 'invalid_encoding', "
        "'not valid UTF-8 (first bad byte at file offset ' || o || ')', t "
        "from (select unnest(?::bigint[]) as r, unnest(?::bigint[]) as o, "
        "unnest(?::varchar[]) as t) order by r",
        [
            batch_id,
            f.rel_path,
            [r[2] for r in rows],
            [r[4] for r in rows],
            [r[3] for r in rows],
        ],
    )
    n = len(rows)
    return Counts(
        raw_rows=c.raw_rows + n,
        loaded_rows=c.loaded_rows,
        duplicate_rows=c.duplicate_rows,
        quarantined_rows=c.quarantined_rows + n,
        conflict_rows=c.conflict_rows,
    )


def _store_classified(
    con: duckdb.DuckDBPyConnection, cls: str, f: RawFile, batch_id: int, n_rejected: int
) -> Counts:
    """Write the classified rows ``cls`` (a table, or a parenthesized query over one) of file
    ``f`` as batch ``batch_id``: bad rows to quarantine, good rows to raw.usage_events with their
    duplicate flag, conflicting repeats to raw.usage_conflicts."""
    if f.file_format == "csv" and n_rejected:
        # rows the CSV reader could not split into the header's columns (data row = line - 1)
        con.execute(
            "insert into raw.quarantine select ?, 'usage', ?, line - 1, "
            "case when bool_or(error_type = 'INVALID ENCODING') then 'invalid_encoding' "
            "else 'unparseable' end, "
            "'CSV line ' || line || ': ' || min(error_message), min(csv_line) "
            "from _usage_csv_rej group by line order by line",
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


# --- Files that cannot be read as they are ---------------------------------------------------
#
# Checked before a file's transaction (a failed read aborts a DuckDB transaction): a JSONL or
# CSV file that is not UTF-8 is read from a copy with its bad lines blanked (the bad lines are
# quarantined `invalid_encoding`); a Parquet file whose footer cannot be read or whose schema is
# too deep or too wide is rejected without reading its data.

_BAD_BYTES = re.compile(r"[^\n]*[\udc80-\udcff][^\n]*")


@dataclass(frozen=True)
class _Sanitized:
    path: Path  # the copy to read (bad lines blanked)
    bad_lines: list[tuple[int, int, str]]  # (1-based line, first bad byte offset, text)


def _is_utf8(path: Path) -> bool:
    import codecs

    dec = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 24), b""):
                dec.decode(block)
        dec.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def sanitize_utf8(f: RawFile, tmp_dir: Path) -> _Sanitized | None:
    """None when ``f`` is valid UTF-8; else a copy with every line holding an invalid byte
    blanked (line numbers kept: a blank line is no row in JSONL or CSV), and those lines with
    their bad bytes as ``\\xNN``. A CSV whose header line is not UTF-8 is rejected."""
    if _is_utf8(f.path):
        return None
    # undecodable bytes become lone surrogates U+DC80..U+DCFF, which valid UTF-8 never yields
    text = f.path.read_bytes().decode("utf-8", "surrogateescape")
    bad: list[tuple[int, int, str]] = []
    line, pos, byte_pos = 1, 0, 0  # line and byte offset of text[pos]
    pieces: list[str] = []
    for m in _BAD_BYTES.finditer(text):
        before = text[pos : m.start()]
        line += before.count("\n")
        byte_pos += len(before.encode("utf-8", "surrogateescape"))
        pieces.append(before)
        pos = m.end()
        raw = m.group().encode("utf-8", "surrogateescape")
        first = next(i for i, ch in enumerate(m.group()) if "\udc80" <= ch <= "\udcff")
        offset = byte_pos + len(m.group()[:first].encode("utf-8", "surrogateescape"))
        byte_pos += len(raw)
        bad.append((line, offset, raw.decode("utf-8", "backslashreplace").rstrip("\r")))
    pieces.append(text[pos:])
    if f.file_format == "csv" and bad and bad[0][0] == 1:
        raise FileRejected(
            f"the CSV header line is not valid UTF-8 (first bad byte at offset {bad[0][1]})", 1
        )
    tmp_dir.mkdir(parents=True, exist_ok=True)
    out = tmp_dir / f"sanitized-{f.content_hash[:16]}{f.path.suffix}"
    out.write_bytes("".join(pieces).encode("utf-8"))
    return _Sanitized(out, bad)


def parquet_problem(con: duckdb.DuckDBPyConnection, f: RawFile) -> FileRejected | None:
    """Why a Parquet file cannot be loaded, from its footer alone (not Parquet, truncated,
    empty; schema deeper than ``PARQUET_MAX_DEPTH`` or wider than ``PARQUET_MAX_COLUMNS``)."""
    path = lit(str(f.path))
    try:
        con.execute(f"select num_rows from parquet_file_metadata({path})").fetchall()
        elements = con.execute(
            f"select num_children from parquet_schema({path}) limit {PARQUET_MAX_COLUMNS * 4 + 2}"
        ).fetchall()
    except duckdb.Error as e:
        text = _first_line(e).replace(str(f.path), f.rel_path)
        return FileRejected(f"not a readable Parquet file: {text}")
    leaves = sum(1 for (k,) in elements if not k)
    if leaves > PARQUET_MAX_COLUMNS or len(elements) > PARQUET_MAX_COLUMNS * 4 + 1:
        return FileRejected(
            f"the Parquet schema has more than {PARQUET_MAX_COLUMNS} columns (leaf fields)"
        )
    # depth-first order: each group's children follow it; the stack holds, per open group,
    # how many of its children are still to come (the root's first)
    stack = [int(elements[0][0] or 0)] if elements else []
    for (k,) in elements[1:]:
        while stack and stack[-1] == 0:
            stack.pop()
        if not stack:
            break
        stack[-1] -= 1
        if len(stack) > PARQUET_MAX_DEPTH:
            return FileRejected(
                f"the Parquet schema is nested deeper than {PARQUET_MAX_DEPTH} levels "
                "(reading it would take unbounded time)"
            )
        if k:
            stack.append(int(k))
    return None


def _first_line(e: BaseException, limit: int = 400) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return text[:limit]


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
    file (and any file of a failed chunk) alone. Files that cannot be read as they are
    (``parquet_problem``, ``sanitize_utf8``) are found before their transaction: a rejected
    file's ``load`` raises ``FileRejected``; a file with lines that are not UTF-8 is read from
    a sanitized copy. ``warnings`` collects each loaded file's notice (``quantity_warning``)."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        pending: list[tuple[RawFile, dt.datetime]],
        tmp_dir: Path | None = None,
    ) -> None:
        import tempfile

        self._tmp_dir = tmp_dir or Path(tempfile.gettempdir()) / f"meterline-usage-{os.getpid()}"
        self._rejected: dict[str, FileRejected] = {}
        self._sanitized: dict[str, _Sanitized] = {}
        self.warnings: dict[str, str] = {}
        readable = []
        for f, arrival in pending:
            problem = parquet_problem(con, f) if f.file_format == "parquet" else None
            if problem is not None:
                self._rejected[f.rel_path] = problem
            else:
                readable.append((f, arrival))
        self._where: dict[str, tuple[_Chunk, int]] = {}
        for chunk in plan_chunks(con, readable):
            for i, (f, _) in enumerate(chunk.files):
                self._where[f.rel_path] = (chunk, i)

    def warning(self, f: RawFile) -> str | None:
        return self.warnings.get(f.rel_path)

    def prepare(self, con: duckdb.DuckDBPyConnection, f: RawFile) -> None:
        """Before ``f``'s transaction: find lines that are not UTF-8 (JSONL, CSV); classify
        ``f``'s chunk if it is not yet (a failed read must not abort the file's transaction)."""
        if f.file_format in ("jsonl", "csv") and f.rel_path not in self._rejected:
            try:
                sanitized = sanitize_utf8(f, self._tmp_dir)
            except FileRejected as e:
                self._rejected[f.rel_path] = e
            else:
                if sanitized is not None:
                    self._sanitized[f.rel_path] = sanitized
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
        rejected = self._rejected.get(f.rel_path)
        if rejected is not None:
            raise rejected
        counts = self._load(con, f, batch_id, arrival)
        warning = quantity_warning(con, batch_id)
        if warning:
            self.warnings[f.rel_path] = warning
        return "usage_events", counts, 0

    def _load(
        self, con: duckdb.DuckDBPyConnection, f: RawFile, batch_id: int, arrival: dt.datetime
    ) -> Counts:
        sanitized = self._sanitized.pop(f.rel_path, None)
        if sanitized is not None:
            try:
                return load_usage_file(con, f, batch_id, arrival, sanitized=sanitized)
            finally:
                sanitized.path.unlink(missing_ok=True)
        entry = self._where.get(f.rel_path)
        chunk, i = entry if entry is not None else (None, 0)
        if chunk is None or chunk.state != "classified" or chunk.files[i][1] != arrival:
            return load_usage_file(con, f, batch_id, arrival)
        rows = f"(select * from {_CHUNK_TABLE} where __file_index = {i})"
        counts = _store_classified(con, rows, f, batch_id, 0)
        if i == len(chunk.files) - 1:
            con.execute(f"drop table if exists {_CHUNK_TABLE}")
            chunk.state = "dropped"
        return counts


def quantity_warning(con: duckdb.DuckDBPyConnection, batch_id: int) -> str | None:
    """A notice when the loaded rows of some event type in batch ``batch_id`` carry none of the
    quantity fields its meters read (``sum``/``max``/``latest``/``count_unique`` meters; a data
    key outside the typed columns is looked up in ``extra_data``): such rows would bill as bare
    events, e.g. a file whose data keys sit where the reader does not look. None otherwise."""
    meters = con.execute(
        "select distinct trim(event_type), trim(field) from raw.meters "
        "where coalesce(lower(trim(aggregation)), 'sum') <> 'count' "
        "and nullif(trim(field), '') is not null order by 1, 2"
    ).fetchall()
    if not meters:
        return None
    by_type: dict[str, list[str]] = {}
    for etype, fld in meters:
        by_type.setdefault(str(etype), []).append(str(fld))
    cases = " ".join(
        f"when {lit(etype)} then "
        + " or ".join(
            f"{ident(x)} is not null"
            if x in FIELDS
            else f"extra_data->>{lit('$.' + chr(34) + x + chr(34))} is not null"
            for x in flds
        )
        for etype, flds in by_type.items()
    )
    types = ", ".join(lit(t) for t in by_type)
    # one scan of the batch's rows (its zone of the append-only table)
    rows = con.execute(
        f"select event_type, count(*), count(*) filter (where case event_type {cases} end) "
        f"from raw.usage_events where batch_id = ? and event_type in ({types}) "
        "group by all order by 1",
        [batch_id],
    ).fetchall()
    notes = [
        f"{n} {etype} rows carry none of {', '.join(by_type[etype])}"
        for etype, n, with_q in rows
        if n and not with_q
    ]
    if not notes:
        return None
    return (
        "; ".join(notes)
        + " (the fields its meters read): check the file's layout; they bill as bare events"
    )


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
