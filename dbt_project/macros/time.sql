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

{% macro spark__to_local_ts(utc_ts, tz) -%}
    from_utc_timestamp(cast({{ utc_ts }} as timestamp), {{ tz }})
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

{% macro spark__to_utc_ts(local_ts, tz) -%}
    to_utc_timestamp(cast({{ local_ts }} as timestamp), {{ tz }})
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

{% macro spark__period_of(date_expr) -%}
    date_format(cast({{ date_expr }} as date), 'yyyy-MM')
{%- endmacro %}

{# First day of the month of a date, as DATE. #}
{% macro month_start(date_expr) -%}
    cast({{ dbt.date_trunc('month', date_expr) }} as date)
{%- endmacro %}

{# ISO year and week of a date, as text: "2026-W41". #}
{% macro iso_week_text(date_expr) -%}
    {{ return(adapter.dispatch('iso_week_text', 'meterline')(date_expr)) }}
{%- endmacro %}

{% macro default__iso_week_text(date_expr) -%}
    to_char({{ date_expr }}, 'IYYY-"W"IW')
{%- endmacro %}

{% macro duckdb__iso_week_text(date_expr) -%}
    strftime({{ date_expr }}, '%G-W%V')
{%- endmacro %}

{% macro spark__iso_week_text(date_expr) -%}
    concat(
        cast(extract(yearofweek from cast({{ date_expr }} as date)) as string),
        '-W',
        lpad(cast(weekofyear(cast({{ date_expr }} as date)) as string), 2, '0')
    )
{%- endmacro %}
