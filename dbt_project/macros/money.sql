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

{# DuckDB: integer arithmetic on the scaled values (HUGEINT), so no DOUBLE is involved.
   a and b become integers A = a x 10^12 and B = b x 10^12 (integer and fraction parts scaled
   apart, so no intermediate DECIMAL overflows), and A x 10^12 / B is computed by long division
   in two steps (A // B, then the remainder x 10^12 // B), rounded half away from zero on the
   last remainder. Domain: |a| < 10^26, |b| < 1.7 x 10^14, |a / b| < 10^26. (A one-step
   A x 10^12 // B overflowed at |a| >= 1.7 x 10^14, e.g. a line amount times a month of tokens
   of a large customer.) #}
{% macro duckdb__safe_divide(a, b) -%}
    {%- set x = 'cast(' ~ a ~ ' as decimal(38, 12))' -%}
    {%- set y = 'cast(' ~ b ~ ' as decimal(38, 12))' -%}
    {%- set big_a -%}
        (cast(trunc({{ x }}) as hugeint) * cast(1000000000000 as hugeint)
            + cast(({{ x }} - trunc({{ x }})) * 1000000000000 as hugeint))
    {%- endset -%}
    {%- set big_b -%}
        nullif(
            cast(trunc({{ y }}) as hugeint) * cast(1000000000000 as hugeint)
                + cast(({{ y }} - trunc({{ y }})) * 1000000000000 as hugeint),
            0
        )
    {%- endset -%}
    {%- set frac -%}
        (({{ big_a }} % {{ big_b }}) * cast(1000000000000 as hugeint))
    {%- endset -%}
    case
        when {{ big_b }} is null then null
        else cast(
            ({{ big_a }} // {{ big_b }}) * cast(1000000000000 as hugeint)
            + ({{ frac }} // {{ big_b }})
            + case
                when 2 * abs({{ frac }} % {{ big_b }}) >= abs({{ big_b }})
                    then sign({{ big_a }}) * sign({{ big_b }})
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
