"""OpenAI exports (``raw/costs/openai/``) -> ``raw.openai_costs`` / ``raw.openai_usage``.

- Admin API pages (``*.json``): the kind is read from ``results[].object`` (the first result;
  results of another kind in the same page are quarantined as ``unexpected_object``).
- Dashboard CSV exports (``*.csv``): the kind is read from the header (``amount_value`` ->
  costs; ``num_model_requests`` / ``input_tokens`` -> usage). Float-looking counts (``10.0``)
  are integers; ``TRUE``/``FALSE`` booleans; rows with only the time columns are empty buckets.

``amount.value`` may be a JSON number or string: its text is parsed to DECIMAL(38,16), never via
float arithmetic. ``group_by`` = the dimensions non-null somewhere in the file.
Quarantine reasons: ``unparseable``, ``unknown_object``, ``unexpected_object``, ``invalid_time``,
``invalid_amount``, ``invalid_quantity``, ``negative_quantity``, ``malformed_bucket`` (a page
bucket that is not an object or whose ``results`` is missing or not a list: one raw row, the
bucket as its record), ``excess_precision`` (an amount with more than 16 or a quantity with more
than 12 decimal places: refused, never rounded), ``invalid_currency`` (a currency that is not an
ISO 4217 code in any case, ``usd`` included, or not a JSON string).
"""

from __future__ import annotations

import datetime as dt

import duckdb

from orchestration.ingest.currencies import sql_invalid_currency
from orchestration.ingest.manifest import Counts, RawFile
from orchestration.ingest.pages import (
    CSV_REJECTS,
    PAGE_TEMP,
    finish,
    finish_csv_rejects,
    group_by_literal,
    quarantine_unparseable_file,
    read_csv_rows,
    read_page,
)
from orchestration.ingest.sqlexpr import (
    dec_parse,
    excess_scale,
    ident,
    int_parse,
    ts_parse,
    typed_parse,
)

COST_OBJECT = "organization.costs.result"
USAGE_PREFIX = "organization.usage."
USAGE_DIMS = [
    "project_id",
    "user_id",
    "api_key_id",
    "model",
    "batch",
    "service_tier",
    "size",
    "source",
    "vector_store_id",
    "context_level",
]
USAGE_COUNTS = [
    "input_tokens",
    "input_cached_tokens",
    "input_cache_write_tokens",
    "input_uncached_tokens",
    "output_tokens",
    "num_model_requests",
]
COST_COLUMNS = [
    "source_format",
    "bucket_start",
    "bucket_end",
    "amount_value",
    "amount_currency",
    "line_item",
    "project_id",
    "api_key_id",
    "organization_id",
    "quantity",
    "quantity_unit",
    "raw_record",
]
USAGE_COLUMNS = [
    "source_format",
    "bucket_start",
    "bucket_end",
    "result_object",
    "group_by",
    "project_id",
    "user_id",
    "api_key_id",
    "model",
    "batch",
    "service_tier",
    *USAGE_COUNTS,
    "raw_record",
]
STAGED = "_openai_staged"
AMOUNT_SCALE = 16  # amount_value DECIMAL(38,16)
QUANTITY_SCALE = 12  # quantity DECIMAL(38,12)


def _cost_checks(amount: str, qty: str, currency: str, currency_json: str | None) -> str:
    """The cost-row reason cases after the time check (page and dashboard CSV alike)."""
    return f"""
            when {excess_scale(amount, AMOUNT_SCALE)} then 'excess_precision'
            when {amount} is null or {dec_parse(amount, "DECIMAL(38,16)")} is null
                then 'invalid_amount'
            when {sql_invalid_currency(currency, currency_json)} then 'invalid_currency'
            when {excess_scale(qty, QUANTITY_SCALE)} then 'excess_precision'
            when {qty} is not null and {dec_parse(qty, "DECIMAL(38,12)")} is null
                then 'invalid_quantity'"""


def _cost_detail(amount: str, qty: str, currency: str, amount_name: str) -> str:
    return f"""case
            when reason_code = 'excess_precision' and {excess_scale(amount, AMOUNT_SCALE)}
                then '{amount_name} ' || {amount} || ' has more than {AMOUNT_SCALE} decimal '
                || 'places; refused rather than rounded'
            when reason_code = 'excess_precision' then 'quantity ' || {qty}
                || ' has more than {QUANTITY_SCALE} decimal places; refused rather than rounded'
            when reason_code = 'invalid_amount' then '{amount_name} is not a decimal: '
                || coalesce({amount}, '(missing)')
            when reason_code = 'invalid_currency' then 'currency is not an ISO 4217 code: '
                || {currency}
            when reason_code = 'invalid_quantity' then 'quantity is not a decimal: ' || {qty}
        end"""


def _unix(expr: str) -> str:
    return (
        f"(case when regexp_full_match(trim({expr}), '\\d+(\\.0*)?') "
        f"then timezone('UTC', to_timestamp(try_cast(trim({expr}) as double)::bigint)) end)"
    )


def _count_detail(values: dict[str, str]) -> str:
    return (
        "concat_ws('; ', "
        + ", ".join(
            f"case when {v} is not null and {int_parse(v)} is null then '{n} is not an integer: ' "
            f"|| {v} when {int_parse(v)} < 0 then '{n} is negative: ' || {v} end"
            for n, v in values.items()
        )
        + ")"
    )


def _count_checks(value: str) -> tuple[str, str, str]:
    """(any invalid, detail of invalid, any negative) over USAGE_COUNTS."""
    bad = " or ".join(
        f"({value.format(c=c)} is not null and {int_parse(value.format(c=c))} is null)"
        for c in USAGE_COUNTS
    )
    detail = _count_detail({c: value.format(c=c) for c in USAGE_COUNTS})
    neg = " or ".join(f"coalesce({int_parse(value.format(c=c))} < 0, false)" for c in USAGE_COUNTS)
    return bad, detail, neg


def _stage_page(con: duckdb.DuckDBPyConnection, kind: str) -> None:
    start, end = _unix("b->>'$.start_time'"), _unix("b->>'$.end_time'")
    amount = "(r->'$.amount'->>'$.value')"
    qty = "(r->>'$.quantity')"
    if kind == "costs":
        cur_json = "(r->'$.amount'->'$.currency')"
        cur = "(r->'$.amount'->>'$.currency')"
        reason = f"""
        case
            when bucket_problem is not null then 'malformed_bucket'
            when object is null or (object <> '{COST_OBJECT}' and not starts_with(object,
                '{USAGE_PREFIX}')) then 'unknown_object'
            when object <> '{COST_OBJECT}' then 'unexpected_object'
            when {start} is null or {end} is null then 'invalid_time'
            {_cost_checks(amount, qty, cur, cur_json)}
        end"""
        select = f"""
        'api_page' as source_format, {start} as bucket_start, {end} as bucket_end,
        {dec_parse(amount, "DECIMAL(38,16)")} as amount_value,
        upper(r->'$.amount'->>'$.currency') as amount_currency,
        r->>'$.line_item' as line_item, r->>'$.project_id' as project_id,
        r->>'$.api_key_id' as api_key_id, r->>'$.organization_id' as organization_id,
        {dec_parse(qty, "DECIMAL(38,12)")} as quantity, r->>'$.quantity_unit' as quantity_unit"""
        detail = _cost_detail(amount, qty, f"{cur_json}::varchar", "amount.value")
    else:
        value = "(r->>'$.{c}')"
        bad, bad_detail, neg = _count_checks(value)
        group_by = group_by_literal(con, PAGE_TEMP, USAGE_DIMS, "r->>'$.{d}'")
        reason = f"""
        case
            when bucket_problem is not null then 'malformed_bucket'
            when object is null or (object <> '{COST_OBJECT}' and not starts_with(object,
                '{USAGE_PREFIX}')) then 'unknown_object'
            when not starts_with(object, '{USAGE_PREFIX}') then 'unexpected_object'
            when {start} is null or {end} is null then 'invalid_time'
            when {bad} then 'invalid_quantity'
            when {neg} then 'negative_quantity'
        end"""
        counts = ", ".join(f"{int_parse(value.format(c=c))} as {c}" for c in USAGE_COUNTS)
        select = f"""
        'api_page' as source_format, {start} as bucket_start, {end} as bucket_end,
        object as result_object, {group_by} as group_by,
        r->>'$.project_id' as project_id, r->>'$.user_id' as user_id,
        r->>'$.api_key_id' as api_key_id, r->>'$.model' as model,
        {typed_parse("(r->>'$.batch')", "BOOLEAN")} as batch,
        r->>'$.service_tier' as service_tier, {counts}"""
        detail = bad_detail
    con.execute(f"""
create temp table {STAGED} as
with src as (
    select row_number, b, r, bucket_problem, r->>'$.object' as object from {PAGE_TEMP}
),
checked as (select *, {reason} as reason_code from src)
select
    row_number, reason_code,
    case reason_code
        when 'malformed_bucket' then bucket_problem
        when 'unknown_object' then 'results[].object ' || coalesce(object, '(missing)')
            || ' is not an OpenAI costs or usage result'
        when 'unexpected_object' then 'results[].object ' || object
            || ' differs from the page kind ({kind})'
        when 'invalid_time' then 'bucket start_time/end_time is not a unix timestamp: '
            || coalesce(b->>'$.start_time', '(missing)') || ' / '
            || coalesce(b->>'$.end_time', '(missing)')
        else {detail}
    end as reason_detail,
    coalesce(r, b)::varchar as raw_record,
    {select}
from checked
""")


def _page_kind(con: duckdb.DuckDBPyConnection, f: RawFile) -> str:
    row = con.execute(
        f"select r->>'$.object' from {PAGE_TEMP} where r is not null order by row_number limit 1"
    ).fetchone()
    obj = row[0] if row else None
    if obj is not None and str(obj).startswith(USAGE_PREFIX):
        return "usage"
    if obj == COST_OBJECT or "cost" in f.rel_path.rsplit("/", 1)[-1].lower():
        return "costs"
    return "usage"


def _load_page(
    con: duckdb.DuckDBPyConnection, f: RawFile, batch_id: int
) -> tuple[str, Counts, int]:
    parsed, empty = read_page(con, f)
    if not parsed:
        return "openai_usage", quarantine_unparseable_file(con, f, batch_id, "openai"), 0
    kind = _page_kind(con, f)
    _stage_page(con, kind)
    con.execute(f"drop table if exists {PAGE_TEMP}")
    table, cols = (
        ("openai_costs", COST_COLUMNS) if kind == "costs" else ("openai_usage", USAGE_COLUMNS)
    )
    return table, finish(con, STAGED, table, cols, batch_id, f, "openai"), empty


_CSV = "_openai_csv"
_TIME_COLS = ("start_time", "end_time", "start_time_iso", "end_time_iso")


def _load_csv(con: duckdb.DuckDBPyConnection, f: RawFile, batch_id: int) -> tuple[str, Counts, int]:
    con.execute(f"drop table if exists {_CSV}")
    try:
        read_csv_rows(con, f, _CSV, "")
    except duckdb.Error:
        return "openai_usage", quarantine_unparseable_file(con, f, batch_id, "openai"), 0
    names = [str(r[0]) for r in con.execute(f"describe {_CSV}").fetchall() if r[0] != "__row"]
    cols = {n.lower(): n for n in names}
    if "amount_value" in cols:
        kind = "costs"
    elif "num_model_requests" in cols or "input_tokens" in cols:
        kind = "usage"
    else:
        con.execute(f"drop table if exists {_CSV}")
        con.execute(f"drop table if exists {CSV_REJECTS}")
        return "openai_usage", quarantine_unparseable_file(con, f, batch_id, "openai"), 0

    def c(name: str) -> str:
        return ident(cols[name]) if name in cols else "null::varchar"

    data_cols = [n for n in names if n.lower() not in _TIME_COLS]
    empty_pred = " and ".join(f"{ident(n)} is null" for n in data_cols) or "false"
    empty_row = con.execute(f"select count(*) from {_CSV} where {empty_pred}").fetchone()
    empty = int(empty_row[0]) if empty_row else 0
    start = f"coalesce({_unix(c('start_time'))}, {ts_parse(c('start_time_iso'))})"
    end = f"coalesce({_unix(c('end_time'))}, {ts_parse(c('end_time_iso'))})"
    pack = ", ".join(f"{ident(n)} := {ident(n)}" for n in names)
    rows = f"(select * from {_CSV} where not ({empty_pred}))"
    if kind == "costs":
        amount = c("amount_value")
        qty, cur = c("quantity"), c("amount_currency")
        reason = f"""case
            when {start} is null or {end} is null then 'invalid_time'
            {_cost_checks(amount, qty, cur, None)}
        end"""
        detail = _cost_detail(amount, qty, cur, "amount_value")
        select = f"""
        'dashboard_csv' as source_format, {start} as bucket_start, {end} as bucket_end,
        {dec_parse(amount, "DECIMAL(38,16)")} as amount_value,
        upper({c("amount_currency")}) as amount_currency, {c("line_item")} as line_item,
        {c("project_id")} as project_id, {c("api_key_id")} as api_key_id,
        {c("organization_id")} as organization_id,
        {dec_parse(c("quantity"), "DECIMAL(38,12)")} as quantity,
        {c("quantity_unit")} as quantity_unit"""
        table, out_cols = "openai_costs", COST_COLUMNS
    else:
        value = {n: c(n) for n in USAGE_COUNTS}
        bad = " or ".join(f"({v} is not null and {int_parse(v)} is null)" for v in value.values())
        bad_detail = _count_detail(value)
        neg = " or ".join(f"coalesce({int_parse(v)} < 0, false)" for v in value.values())
        group_by = group_by_literal(con, rows, [cols[d] for d in USAGE_DIMS if d in cols], '"{d}"')
        reason = f"""case
            when {start} is null or {end} is null then 'invalid_time'
            when {bad} then 'invalid_quantity'
            when {neg} then 'negative_quantity'
        end"""
        detail = bad_detail
        obj = "'organization.usage.completions.result'" if "output_tokens" in cols else "null"
        counts = ", ".join(f"{int_parse(v)} as {n}" for n, v in value.items())
        select = f"""
        'dashboard_csv' as source_format, {start} as bucket_start, {end} as bucket_end,
        {obj}::varchar as result_object, {group_by} as group_by,
        {c("project_id")} as project_id, {c("user_id")} as user_id,
        {c("api_key_id")} as api_key_id, {c("model")} as model,
        {typed_parse(c("batch"), "BOOLEAN")} as batch, {c("service_tier")} as service_tier,
        {counts}"""
        table, out_cols = "openai_usage", USAGE_COLUMNS
    con.execute(f"""
create temp table {STAGED} as
with checked as (select *, {reason} as reason_code from {rows})
select
    __row as row_number, reason_code,
    case when reason_code = 'invalid_time' then 'start_time/end_time is not a timestamp: '
        || coalesce({c("start_time")}, '(missing)') else {detail} end as reason_detail,
    to_json(struct_pack({pack}))::varchar as raw_record,
    {select}
from checked
""")
    con.execute(f"drop table if exists {_CSV}")
    counts = finish(con, STAGED, table, out_cols, batch_id, f, "openai")
    return table, finish_csv_rejects(con, f, batch_id, "openai", counts), empty


def load_openai_file(
    con: duckdb.DuckDBPyConnection, f: RawFile, batch_id: int, arrival: dt.datetime
) -> tuple[str, Counts, int]:
    del arrival  # provider exports have no future-time rule
    if f.file_format == "csv":
        return _load_csv(con, f, batch_id)
    return _load_page(con, f, batch_id)
