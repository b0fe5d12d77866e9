{#
  Provider-cost helpers. Provider amounts keep their precision: DECIMAL(38,15) (`to_cost`).
  Rounding to cents goes through `round_money` (macros/money.sql), the one rounding macro.
#}

{# Any numeric expression -> the provider-cost type, DECIMAL(38,15). #}
{% macro to_cost(expr) -%}
    cast({{ expr }} as decimal(38, 15))
{%- endmacro %}

{#
  The reconciliation key of a model name, shared by every source:
  lower-case, trimmed, with a trailing snapshot date removed (`-YYYY-MM-DD` as OpenAI dates its
  snapshots, `-YYYYMMDD` as Anthropic does). `gpt-4o-2024-08-06` -> `gpt-4o`,
  `claude-haiku-4-5-20251001` -> `claude-haiku-4-5`. Prices are NOT looked up by this key (the
  exact name goes to the catalog, where e.g. gpt-4o-2024-05-13 is priced differently); it only
  groups usage and cost lines that name the same model in different ways.
#}
{% macro cost_model_key(model) -%}
    {{ return(adapter.dispatch('cost_model_key', 'meterline')(model)) }}
{%- endmacro %}

{% macro default__cost_model_key(model) -%}
    nullif(
        regexp_replace(lower(trim({{ model }})), '-([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{8})$', ''),
        ''
    )
{%- endmacro %}

{#
  An Anthropic cost-report description names the model in prose:
  "Claude Sonnet 4.5 Usage - Input Tokens" -> `claude-sonnet-4-5` (the text before " Usage",
  lower-cased, spaces and dots to dashes). Used only when the row has no `model`.
#}
{% macro anthropic_model_from_description(description) -%}
    nullif(
        replace(replace(lower(trim(
            regexp_extract({{ description }}, '^(.*?)\s+Usage\b', 1)
        )), ' ', '-'), '.', '-'),
        ''
    )
{%- endmacro %}

{#
  Largest-remainder allocation of an amount, in units of 10^-scale, across weighted rows.

  `relation` is a CTE name with one row per (pool, recipient): `pool_cols` identify the pool,
  `amount` is the pool's amount, ALREADY ROUNDED to `scale` places (same on every row of the
  pool), `weight` the recipient's non-negative weight (not all 0), `tie_breaker` a total order of
  the recipients (e.g. customer_id).
  Each recipient gets floor(amount * weight / total weight) units; the r units left over go one
  each to the r rows with the largest fractional remainders, ties broken by `tie_breaker`. The
  remainder is computed in integers (q = r div n to every row, then one more unit to the first
  r mod n rows), so a pool's allocated amounts sum EXACTLY to its amount, whatever the signs.
  Returns every column of `relation` plus `allocated_amount` DECIMAL(38, scale).
#}
{% macro allocate_largest_remainder(relation, pool_cols, amount, weight, tie_breaker, scale=2) -%}
{%- set pool = pool_cols | join(', ') -%}
{%- set factor = '1' ~ ('0' * scale) -%}
    select
        * exclude (
            pool_units, exact_units, floor_units, sum_floor_units, pool_rows, remainder_rank,
            leftover_each, leftover_extra
        ),
        cast(
            cast(
                floor_units + leftover_each
                + case when remainder_rank <= leftover_extra then 1 else 0 end
                as decimal(38, 0)
            ) / {{ factor }}
            as decimal(38, {{ scale }})
        ) as allocated_amount
    from (
        select
            *,
            cast(floor((pool_units - sum_floor_units) / pool_rows) as hugeint) as leftover_each,
            (pool_units - sum_floor_units)
                - cast(floor((pool_units - sum_floor_units) / pool_rows) as hugeint) * pool_rows
                as leftover_extra
        from (
            select
                *,
                sum(floor_units) over (partition by {{ pool }}) as sum_floor_units,
                count(*) over (partition by {{ pool }}) as pool_rows,
                row_number() over (
                    partition by {{ pool }}
                    order by exact_units - floor_units desc, {{ tie_breaker }}
                ) as remainder_rank
            from (
                select
                    *,
                    cast(floor(exact_units) as hugeint) as floor_units
                from (
                    select
                        *,
                        cast({{ amount }} * {{ factor }} as hugeint) as pool_units,
                        cast({{ amount }} as double) * {{ factor }}
                            * cast({{ weight }} as double)
                            / sum(cast({{ weight }} as double)) over (partition by {{ pool }})
                            as exact_units
                    from {{ relation }}
                ) as shares
            ) as floored
        ) as ranked
    ) as allocated
{%- endmacro %}
