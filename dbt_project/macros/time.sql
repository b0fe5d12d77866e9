{#
  Time helpers. Warehouse timestamps are naive TIMESTAMPs holding UTC; customer-local time is
  derived here only. DuckDB-specific SQL sits in the duckdb__ implementations.
#}

{# naive UTC TIMESTAMP -> naive local TIMESTAMP in the IANA time zone `tz` (an expression). #}
{% macro to_local_ts(utc_ts, tz) -%}
    {{ return(adapter.dispatch('to_local_ts', 'meterline')(utc_ts, tz)) }}
{%- endmacro %}

{% macro default__to_local_ts(utc_ts, tz) -%}
    convert_timezone('UTC', {{ tz }}, {{ utc_ts }})
{%- endmacro %}

{% macro duckdb__to_local_ts(utc_ts, tz) -%}
    timezone({{ tz }}, cast({{ utc_ts }} as timestamp) at time zone 'UTC')
{%- endmacro %}

{# naive local TIMESTAMP in `tz` -> naive UTC TIMESTAMP (period boundaries). #}
{% macro to_utc_ts(local_ts, tz) -%}
    {{ return(adapter.dispatch('to_utc_ts', 'meterline')(local_ts, tz)) }}
{%- endmacro %}

{% macro default__to_utc_ts(local_ts, tz) -%}
    convert_timezone({{ tz }}, 'UTC', {{ local_ts }})
{%- endmacro %}

{% macro duckdb__to_utc_ts(local_ts, tz) -%}
    timezone('UTC', timezone({{ tz }}, cast({{ local_ts }} as timestamp)))
{%- endmacro %}

{# YYYY-MM of a date. #}
{% macro period_of(date_expr) -%}
    {{ return(adapter.dispatch('period_of', 'meterline')(date_expr)) }}
{%- endmacro %}

{% macro default__period_of(date_expr) -%}
    to_char({{ date_expr }}, 'YYYY-MM')
{%- endmacro %}

{% macro duckdb__period_of(date_expr) -%}
    strftime(cast({{ date_expr }} as date), '%Y-%m')
{%- endmacro %}

{# First day of the month of a date, as DATE. #}
{% macro month_start(date_expr) -%}
    cast({{ dbt.date_trunc('month', date_expr) }} as date)
{%- endmacro %}
