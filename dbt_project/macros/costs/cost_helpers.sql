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
  pool), `weight` the recipient's non-negative weight, `tie_breaker` a total order of the
  recipients (e.g. customer_id). Weights are taken exactly to `weight_scale` decimal places
  (DECIMAL(38, 15) by default, the provider-cost type; quantities DECIMAL(38, 9) fit too) and
  scaled to integers (integer part x 10^weight_scale + fraction digits, so even a weight of
  10^23 scales without a DECIMAL overflow), so every step below is integer (HUGEINT) arithmetic, no DOUBLE:
    n_i = amount_units x weight_int_i,  W = sum of weight_int over the pool,
    floor_i = floor(n_i / W) (floor division, also for negative amounts),
    rem_i = n_i - floor_i x W  (0 <= rem_i < W: the exact fractional remainder x W).
  Each recipient gets floor_i units; the r units left over go one each to the r rows with the
  largest rem_i, ties broken by `tie_breaker`. (The leftover is computed as q = r div n to every
  row plus one more unit to the first r mod n rows; with exact floors q is 0.) A pool's
  allocated amounts therefore sum EXACTLY to its amount, whatever the signs. A pool whose
  weights are all 0 is split as if every weight were 1 (evenly, remainder by tie_breaker).
  HUGEINT overflow (|amount units x weight_int| >= 1.7e38) raises an error, never a wrong cent.
  Returns every column of `relation` plus `allocated_amount` DECIMAL(38, scale).
#}
{% macro allocate_largest_remainder(
    relation, pool_cols, amount, weight, tie_breaker, scale=2, weight_scale=15
) -%}
{%- set pool = pool_cols | join(', ') -%}
{%- set factor = '1' ~ ('0' * scale) -%}
{%- set weight_factor = '1' ~ ('0' * weight_scale) -%}
    select
        {{ star_except() }} (
            weight_exact, pool_units, weight_raw_units, pool_raw_weight_units, weight_units,
            pool_weight_units, numerator_units, floor_units, remainder_units, sum_floor_units, pool_rows,
            remainder_rank, leftover_each, leftover_extra
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
            {{ int_div('(pool_units - sum_floor_units)', 'pool_rows') }} as leftover_each,
            (pool_units - sum_floor_units)
                - ({{ int_div('(pool_units - sum_floor_units)', 'pool_rows') }}) * pool_rows
                as leftover_extra
        from (
            select
                *,
                sum(floor_units) over (partition by {{ pool }}) as sum_floor_units,
                cast(count(*) over (partition by {{ pool }}) as {{ big_int_type() }}) as pool_rows,
                row_number() over (
                    partition by {{ pool }}
                    order by remainder_units desc, {{ tie_breaker }}
                ) as remainder_rank
            from (
                select
                    *,
                    numerator_units - floor_units * pool_weight_units as remainder_units
                from (
                    select
                        *,
                        {{ int_div('numerator_units', 'pool_weight_units') }}
                        - case when numerator_units % pool_weight_units < 0 then 1 else 0 end
                            as floor_units
                    from (
                        select
                            *,
                            case when pool_raw_weight_units = 0 then 1 else weight_raw_units end
                                as weight_units,
                            case
                                when pool_raw_weight_units = 0
                                    then cast(count(*) over (partition by {{ pool }}) as {{ big_int_type() }})
                                else pool_raw_weight_units
                            end as pool_weight_units,
                            pool_units
                            * case
                                when pool_raw_weight_units = 0 then cast(1 as {{ big_int_type() }})
                                else weight_raw_units
                            end as numerator_units
                        from (
                            select
                                *,
                                sum(weight_raw_units) over (partition by {{ pool }})
                                    as pool_raw_weight_units
                            from (
                                select
                                    *,
                                    cast(
                                        cast({{ amount }} as decimal(38, {{ scale }}))
                                        * {{ factor }}
                                        as {{ big_int_type() }}
                                    ) as pool_units,
                                    cast({{ trunc_number('weight_exact') }} as {{ big_int_type() }}) * {{ weight_factor }}
                                    + cast(
                                        (weight_exact - {{ trunc_number('weight_exact') }}) * {{ weight_factor }}
                                        as {{ big_int_type() }}
                                    ) as weight_raw_units
                                from (
                                    select
                                        *,
                                        cast({{ weight }} as decimal(38, {{ weight_scale }}))
                                            as weight_exact
                                    from {{ relation }}
                                ) as exact_weights
                            ) as scaled
                        ) as pooled
                    ) as weighted
                ) as floored
            ) as remaindered
        ) as ranked
    ) as allocated
{%- endmacro %}
