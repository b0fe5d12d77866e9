{#
  Text of an invoice line's price basis, so that a reader can check quantity x price = amount
  (e.g. "2.50 per 1,000,000 tokens, first 1,000,000 free"). Numbers are rendered from DECIMAL
  (never through a float): thousands separators on the integer part, trailing zeros trimmed.
#}

{# 3400000 -> "3,400,000"; 12.5 -> "12.5" (a quantity, non-negative). #}
{% macro format_quantity(expr) -%}
    {{ return(adapter.dispatch('format_quantity', 'meterline')(expr)) }}
{%- endmacro %}

{% macro default__format_quantity(expr) -%}
    rtrim(rtrim(cast(cast({{ expr }} as decimal(38, 9)) as varchar), '0'), '.')
{%- endmacro %}

{% macro duckdb__format_quantity(expr) -%}
    (
        format('{:,}', cast(trunc(cast({{ expr }} as decimal(38, 9))) as hugeint))
        || coalesce(
            '.' || nullif(
                rtrim(regexp_extract(cast(cast({{ expr }} as decimal(38, 9)) as varchar), '\.([0-9]+)$', 1), '0'),
                ''
            ),
            ''
        )
    )
{%- endmacro %}

{# A price: at least 2 places ("3.20"), more only when the price has them ("0.000125"). #}
{% macro format_price(expr) -%}
    case
        when cast({{ expr }} as decimal(38, 12)) = cast(cast({{ expr }} as decimal(38, 2)) as decimal(38, 12))
            then cast(cast({{ expr }} as decimal(38, 2)) as varchar)
        else rtrim(cast(cast({{ expr }} as decimal(38, 12)) as varchar), '0')
    end
{%- endmacro %}

{# A money amount in a currency with `minor_units` decimal places (SQL expression): "14850" for
   a whole JPY amount, else 2 places as before ("99.00"; a yen amount with a fraction keeps 2). #}
{% macro format_money_text(expr, minor_units) -%}
    case
        when {{ minor_units }} = 0
            and cast({{ expr }} as decimal(38, 12)) = cast(cast({{ expr }} as decimal(38, 0)) as decimal(38, 12))
            then cast(cast({{ expr }} as decimal(38, 0)) as varchar)
        else cast(cast({{ expr }} as decimal(38, 2)) as varchar)
    end
{%- endmacro %}

{# "tokens" for "token"; a unit already ending in s stays. #}
{% macro plural_unit(unit) -%}
    case when {{ unit }} like '%s' then {{ unit }} else {{ unit }} || 's' end
{%- endmacro %}

{# "per token" / "per 1,000,000 tokens" #}
{% macro per_units_text(price_per, unit) -%}
    case
        when coalesce({{ price_per }}, 1) = 1 then 'per ' || coalesce({{ unit }}, 'unit')
        else 'per ' || {{ format_quantity(price_per) }} || ' ' || {{ plural_unit("coalesce(" ~ unit ~ ", 'unit')") }}
    end
{%- endmacro %}

{# ", first 1,000,000 free" when the price row includes free units. #}
{% macro free_units_text(free_units, unit) -%}
    case
        when coalesce({{ free_units }}, 0) > 0
            then ', first ' || {{ format_quantity(free_units) }} || ' free'
        else ''
    end
{%- endmacro %}
