{#
  Money and exact-decimal helpers. Money is DECIMAL end to end: unrounded amounts and unit prices
  are DECIMAL(38,12), rounded amounts DECIMAL(38,2). A division involving a DECIMAL yields DOUBLE
  in DuckDB, so the only division of money goes through safe_divide(), which stays exact.
#}

{# Cast any numeric expression to the unrounded money type, DECIMAL(38,12). #}
{% macro to_money(expr) -%}
    cast({{ expr }} as decimal(38, 12))
{%- endmacro %}

{# Round to the currency's minor unit, half away from zero: the one place where money is
   rounded. `minor_units` is an SQL expression giving the ISO 4217 exponent of the amount's
   currency (0 for JPY, 2 for USD; see currency_minor_units()); without it, 2 places (cents: the
   provider-cost side, percentages). The result is DECIMAL(38,2) either way: a JPY amount is a
   whole number of yen stored as 1234.00. Currencies with more than 2 places are refused on load
   (orchestration/ingest/currencies.py). DuckDB's round() on a DECIMAL rounds half away from zero
   (verified by tests/test_rating_macros.py on +-0.005, 2.675, 0.125, 1.115, 0.004) and needs a
   constant precision, hence the CASE; each branch is cast to DECIMAL(38,2) on its own (a CASE
   over DECIMAL(38,0) and DECIMAL(38,2) branches takes the first branch's type and would drop
   the cents). #}
{% macro round_money(expr, minor_units=none) -%}
    {{ return(adapter.dispatch('round_money', 'meterline')(expr, minor_units)) }}
{%- endmacro %}

{% macro default__round_money(expr, minor_units=none) -%}
    {%- if minor_units is none -%}
    cast(round(cast({{ expr }} as decimal(38, 12)), 2) as decimal(38, 2))
    {%- else -%}
    case {{ minor_units }}
        when 0 then cast(round(cast({{ expr }} as decimal(38, 12)), 0) as decimal(38, 2))
        when 1 then cast(round(cast({{ expr }} as decimal(38, 12)), 1) as decimal(38, 2))
        else cast(round(cast({{ expr }} as decimal(38, 12)), 2) as decimal(38, 2))
    end
    {%- endif -%}
{%- endmacro %}

{# Credit units (credit plans, issue 22) are not money: they are kept at a fixed 6 decimal places,
   DECIMAL(38,6), each credit-priced invoice line's credits rounded once, half away from zero,
   here (the one place credit units are rounded, as round_money is for money). #}
{% macro round_credits(expr) -%}
    cast(round(cast({{ expr }} as decimal(38, 12)), 6) as decimal(38, 6))
{%- endmacro %}

{# The ISO 4217 minor unit (exponent) of a currency code expression: var currency_minor_units
   lists the codes that do not have 2. #}
{% macro currency_minor_units(currency) -%}
    case {{ currency }}
        {%- for code, units in var('currency_minor_units').items() | sort %}
        when '{{ code }}' then {{ units }}
        {%- endfor %}
        else 2
    end
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
   in two steps (A // B, then the remainder x 10^12 // B; `//` and `%` truncate toward zero),
   rounded half away from zero on the last remainder. Domain: |a| < 10^26, |b| < 1.7 x 10^14,
   |a / b| < 10^26. (A one-step A x 10^12 // B overflowed at |a| >= 1.7 x 10^14, e.g. a line
   amount times a month of tokens of a large customer.)
   Each intermediate is bound once by a one-element list_transform: written as one expression,
   a, b, A, B and the first quotient were repeated (a 3 KB expression per call), and DuckDB does
   not share repeated subexpressions inside a CASE branch, where callers put this (charge models,
   shares); measured on 3M rows: 15.8 s as one expression at top level, 5.5 s bound, the same
   inside a CASE. A NULL or zero b gives NULL. #}
{% macro duckdb__safe_divide(a, b) -%}
    {%- set scale = 'cast(1000000000000 as hugeint)' -%}
    list_transform(
        list_transform(
            list_transform(
                [{'x': cast({{ a }} as decimal(38, 12)), 'y': cast({{ b }} as decimal(38, 12))}],
                lambda sd_in: {
                    'a': cast(trunc(sd_in.x) as hugeint) * {{ scale }}
                        + cast((sd_in.x - trunc(sd_in.x)) * 1000000000000 as hugeint),
                    'b': nullif(
                        cast(trunc(sd_in.y) as hugeint) * {{ scale }}
                            + cast((sd_in.y - trunc(sd_in.y)) * 1000000000000 as hugeint),
                        0
                    )
                }
            ),
            lambda sd_ab: {
                'q': sd_ab.a // sd_ab.b,
                'f': (sd_ab.a % sd_ab.b) * {{ scale }},
                'b': sd_ab.b,
                'sign': sign(sd_ab.a) * sign(sd_ab.b)
            }
        ),
        lambda sd_qf: cast(
            sd_qf.q * {{ scale }}
            + sd_qf.f // sd_qf.b
            + cast(2 * abs(sd_qf.f % sd_qf.b) >= abs(sd_qf.b) as hugeint) * sd_qf.sign
            as decimal(38, 0)
        ) * cast(0.000000000001 as decimal(13, 12))
    )[1]
{%- endmacro %}

{# The smallest integer >= a / b, for positive b (package counts). Exact: the 12-place quotient
   is corrected by one in either direction with exact multiplications. #}
{% macro ceil_divide(a, b) -%}
    {{ return(adapter.dispatch('ceil_divide', 'meterline')(a, b)) }}
{%- endmacro %}

{% macro default__ceil_divide(a, b) -%}
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

{# DuckDB: the approximation bound once (see duckdb__safe_divide); a comparison is 0 or 1. #}
{% macro duckdb__ceil_divide(a, b) -%}
    list_transform(
        [{
            'q': cast(ceil({{ safe_divide(a, b) }}) as decimal(38, 0)),
            'a': cast({{ a }} as decimal(38, 12)),
            'b': cast({{ b }} as decimal(38, 12))
        }],
        lambda cd_in: cd_in.q
            + cast(cd_in.q * cd_in.b < cd_in.a as integer)
            - cast((cd_in.q - 1) * cd_in.b >= cd_in.a as integer)
    )[1]
{%- endmacro %}
