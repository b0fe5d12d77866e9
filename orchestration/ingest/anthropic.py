"""Anthropic Admin API pages (``raw/costs/anthropic/*.json``) -> ``raw.anthropic_costs`` /
``raw.anthropic_usage``.

The page kind is read from the first result: ``amount`` -> cost_report, token fields ->
usage_report/messages (results of the other kind in the same page: ``unexpected_object``).
``amount`` is a decimal string in cents; it is kept in cents as DECIMAL(38,9) (staging divides
by 100). Quarantine reasons: ``unparseable``, ``unknown_object``, ``unexpected_object``,
``invalid_time``, ``invalid_amount``, ``invalid_quantity``, ``negative_quantity``,
``malformed_bucket`` (a bucket that is not an object or whose ``results`` is not a list: one raw
row), ``excess_precision`` (an amount with more than 9 decimal places of cents: refused, never
rounded), ``invalid_currency`` (a ``currency`` that is not an ISO 4217 code, or not a JSON
string: ``"currency": 7``; a missing currency is USD).
"""

from __future__ import annotations

import datetime as dt

import duckdb

from orchestration.ingest.currencies import sql_invalid_currency
from orchestration.ingest.manifest import Counts, RawFile
from orchestration.ingest.pages import (
    PAGE_TEMP,
    finish,
    group_by_literal,
    quarantine_unparseable_file,
    read_page,
)
from orchestration.ingest.sqlexpr import dec_parse, excess_scale, int_parse, ts_parse

USAGE_DIMS = [
    "api_key_id",
    "workspace_id",
    "model",
    "service_tier",
    "context_window",
    "inference_geo",
    "account_id",
    "service_account_id",
    "speed",
]
USAGE_COUNTS: dict[str, str] = {
    "uncached_input_tokens": "$.uncached_input_tokens",
    "cache_creation_5m_input_tokens": "$.cache_creation.ephemeral_5m_input_tokens",
    "cache_creation_1h_input_tokens": "$.cache_creation.ephemeral_1h_input_tokens",
    "cache_read_input_tokens": "$.cache_read_input_tokens",
    "output_tokens": "$.output_tokens",
    "web_search_requests": "$.server_tool_use.web_search_requests",
}
COST_COLUMNS = [
    "bucket_start",
    "bucket_end",
    "amount_cents",
    "currency",
    "workspace_id",
    "description",
    "cost_type",
    "model",
    "token_type",
    "service_tier",
    "context_window",
    "inference_geo",
    "raw_record",
]
USAGE_COLUMNS = [
    "bucket_start",
    "bucket_end",
    "group_by",
    "api_key_id",
    "workspace_id",
    "model",
    "service_tier",
    "context_window",
    *USAGE_COUNTS,
    "raw_record",
]
STAGED = "_anthropic_staged"
AMOUNT_SCALE = 9  # amount_cents DECIMAL(38,9)
_IS_COST = "(json_exists(r, '$.amount'))"
_IS_USAGE = (
    "(json_exists(r, '$.uncached_input_tokens') or json_exists(r, '$.output_tokens') "
    "or json_exists(r, '$.cache_read_input_tokens'))"
)


def _page_kind(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute(
        f"select {_IS_COST} from {PAGE_TEMP} where r is not null order by row_number limit 1"
    ).fetchone()
    return "costs" if row and row[0] else "usage"


def _stage(con: duckdb.DuckDBPyConnection, kind: str) -> None:
    start, end = ts_parse("(b->>'$.starting_at')"), ts_parse("(b->>'$.ending_at')")
    amount = "(r->>'$.amount')"
    if kind == "costs":
        reason = f"""case
            when bucket_problem is not null then 'malformed_bucket'
            when not {_IS_COST} and not {_IS_USAGE} then 'unknown_object'
            when not {_IS_COST} then 'unexpected_object'
            when {start} is null or {end} is null then 'invalid_time'
            when {excess_scale(amount, AMOUNT_SCALE)} then 'excess_precision'
            when {dec_parse(amount, "DECIMAL(38,9)")} is null then 'invalid_amount'
            when {sql_invalid_currency("(r->>'$.currency')", "(r->'$.currency')")}
                then 'invalid_currency'
        end"""
        detail = f"""case
            when reason_code = 'excess_precision' then 'amount ' || {amount} || ' has more than '
                || '{AMOUNT_SCALE} decimal places (cents); refused rather than rounded'
            when reason_code = 'invalid_currency' then 'currency is not an ISO 4217 code: '
                || (r->'$.currency')::varchar
            else 'amount is not a decimal string of cents: ' || coalesce({amount}, '(missing)')
        end"""
        select = f"""
        {start} as bucket_start, {end} as bucket_end,
        {dec_parse(amount, "DECIMAL(38,9)")} as amount_cents, r->>'$.currency' as currency,
        r->>'$.workspace_id' as workspace_id, r->>'$.description' as description,
        r->>'$.cost_type' as cost_type, r->>'$.model' as model,
        r->>'$.token_type' as token_type, r->>'$.service_tier' as service_tier,
        r->>'$.context_window' as context_window, r->>'$.inference_geo' as inference_geo"""
    else:
        vals = {n: f"(r->>'{p}')" for n, p in USAGE_COUNTS.items()}
        bad = " or ".join(f"({v} is not null and {int_parse(v)} is null)" for v in vals.values())
        neg = " or ".join(f"coalesce({int_parse(v)} < 0, false)" for v in vals.values())
        detail = (
            "concat_ws('; ', "
            + ", ".join(
                f"case when {v} is not null and {int_parse(v)} is null then '{n} is not an "
                f"integer: ' || {v} when {int_parse(v)} < 0 then '{n} is negative: ' || {v} end"
                for n, v in vals.items()
            )
            + ")"
        )
        reason = f"""case
            when bucket_problem is not null then 'malformed_bucket'
            when not {_IS_COST} and not {_IS_USAGE} then 'unknown_object'
            when {_IS_COST} then 'unexpected_object'
            when {start} is null or {end} is null then 'invalid_time'
            when {bad} then 'invalid_quantity'
            when {neg} then 'negative_quantity'
        end"""
        group_by = group_by_literal(con, PAGE_TEMP, USAGE_DIMS, "r->>'$.{d}'")
        counts = ", ".join(f"{int_parse(v)} as {n}" for n, v in vals.items())
        select = f"""
        {start} as bucket_start, {end} as bucket_end, {group_by} as group_by,
        r->>'$.api_key_id' as api_key_id, r->>'$.workspace_id' as workspace_id,
        r->>'$.model' as model, r->>'$.service_tier' as service_tier,
        r->>'$.context_window' as context_window, {counts}"""
    con.execute(f"""
create temp table {STAGED} as
with checked as (select *, {reason} as reason_code from {PAGE_TEMP})
select
    row_number, reason_code,
    case reason_code
        when 'malformed_bucket' then bucket_problem
        when 'unknown_object' then 'result is neither a cost_report nor a usage_report row'
        when 'unexpected_object' then 'result kind differs from the page kind ({kind})'
        when 'invalid_time' then 'bucket starting_at/ending_at is not an RFC 3339 timestamp: '
            || coalesce(b->>'$.starting_at', '(missing)') || ' / '
            || coalesce(b->>'$.ending_at', '(missing)')
        else {detail}
    end as reason_detail,
    coalesce(r, b)::varchar as raw_record,
    {select}
from checked
""")


def load_anthropic_file(
    con: duckdb.DuckDBPyConnection, f: RawFile, batch_id: int, arrival: dt.datetime
) -> tuple[str, Counts, int]:
    del arrival
    parsed, empty = read_page(con, f)
    if not parsed:
        return "anthropic_usage", quarantine_unparseable_file(con, f, batch_id, "anthropic"), 0
    kind = _page_kind(con)
    _stage(con, kind)
    con.execute(f"drop table if exists {PAGE_TEMP}")
    table, cols = (
        ("anthropic_costs", COST_COLUMNS) if kind == "costs" else ("anthropic_usage", USAGE_COLUMNS)
    )
    return table, finish(con, STAGED, table, cols, batch_id, f, "anthropic"), empty
