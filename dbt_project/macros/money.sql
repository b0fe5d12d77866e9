{#
  Money and exact-decimal helpers. Money is DECIMAL end to end: unrounded amounts and unit prices
  are DECIMAL(38,12), rounded amounts DECIMAL(38,2). A division involving a DECIMAL yields DOUBLE
  in DuckDB, so the only division of money goes through safe_divide(), which stays exact.
#}

{# Cast any numeric expression to the unrounded money type, DECIMAL(38,12). #}
{% macro to_money(expr) -%}
    cast({{ expr }} as decimal(38, 12))
{%- endmacro %}

{# Round to the currency's minor unit (2 places), half away from zero: the one place where
   money is rounded. DuckDB's round() on a DECIMAL rounds half away from zero (verified by
   tests/test_rating_macros.py on +-0.005, 2.675, 0.125, 1.115, 0.004). #}
{% macro round_money(expr) -%}
    {{ return(adapter.dispatch('round_money', 'meterline')(expr)) }}
{%- endmacro %}

{% macro default__round_money(expr) -%}
    cast(round(cast({{ expr }} as decimal(38, 12)), 2) as decimal(38, 2))
{%- endmacro %}

{# a / b as DECIMAL(38,12), exact to 12 places (rounded half away from zero there); NULL when b
   is 0 or NULL. Valid while |a| < 1e14. #}
{% macro safe_divide(a, b) -%}
    {{ return(adapter.dispatch('safe_divide', 'meterline')(a, b)) }}
{%- endmacro %}

{% macro default__safe_divide(a, b) -%}
    cast(
        case
            when cast({{ b }} as decimal(38, 12)) = 0 then null
            else cast({{ a }} as decimal(38, 12)) / cast({{ b }} as decimal(38, 12))
        end
        as decimal(38, 12)
    )
{%- endmacro %}

{# DuckDB: integer arithmetic on the scaled values (HUGEINT), so no DOUBLE is involved. #}
{% macro duckdb__safe_divide(a, b) -%}
    {%- set num -%}
        (cast(cast({{ a }} as decimal(38, 12)) * 1000000000000 as hugeint) * cast(1000000000000 as hugeint))
    {%- endset -%}
    {%- set den -%}
        nullif(cast(cast({{ b }} as decimal(38, 12)) * 1000000000000 as hugeint), 0)
    {%- endset -%}
    case
        when {{ den }} is null then null
        else cast(
            ({{ num }} // {{ den }})
            + case
                when 2 * abs({{ num }} % {{ den }}) >= abs({{ den }})
                    then sign({{ num }}) * sign({{ den }})
                else 0
            end
            as decimal(38, 0)
        ) * cast(0.000000000001 as decimal(13, 12))
    end
{%- endmacro %}

{# The smallest integer >= a / b, for positive b (package counts). Exact: the 12-place quotient
   is corrected by one in either direction with exact multiplications. #}
{% macro ceil_divide(a, b) -%}
    {%- set approx -%}
        cast(ceil({{ safe_divide(a, b) }}) as decimal(38, 0))
    {%- endset -%}
    case
        when {{ approx }} * cast({{ b }} as decimal(38, 12)) < cast({{ a }} as decimal(38, 12))
            then {{ approx }} + 1
        when ({{ approx }} - 1) * cast({{ b }} as decimal(38, 12)) >= cast({{ a }} as decimal(38, 12))
            then {{ approx }} - 1
        else {{ approx }}
    end
{%- endmacro %}
