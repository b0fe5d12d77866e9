{{ config(tags=['scenarios']) }}
-- fct_scenario_margin per scenario x customer x period, with the segment's margin target (var
-- margin_targets, as fct_customer_margin) and whether the scenario takes the customer below it:
-- margin_flag as in fct_customer_margin (`negative`, `below_target`, `ok`), current and
-- simulated; falls_below_target when current is `ok` and simulated is not.
{%- set targets = var('margin_targets') %}
with

margin as (

    select * from {{ ref('fct_scenario_margin') }}

),

grouped as (

    select
        scenario,
        customer_id,
        period,
        any_value(segment) as segment,
        any_value(currency) as currency,
        cast(sum(current_revenue) as decimal(38, 2)) as current_revenue,
        cast(sum(simulated_revenue) as decimal(38, 2)) as simulated_revenue,
        cast(sum(current_cogs) as decimal(38, 2)) as current_cogs,
        cast(sum(simulated_cogs) as decimal(38, 2)) as simulated_cogs

    from margin
    group by scenario, customer_id, period

),

computed as (

    select
        *,
        cast(current_revenue - current_cogs as decimal(38, 2)) as current_gross_margin,
        cast(simulated_revenue - simulated_cogs as decimal(38, 2)) as simulated_gross_margin,
        cast(
            case coalesce(segment, '')
                {%- for segment, target in targets.items() if segment != 'default' %}
                    when '{{ segment }}' then {{ target }}
                {%- endfor %}
                else {{ targets.get('default', 0) }}
            end * 100
            as decimal(9, 2)
        ) as margin_target_pct

    from grouped

),

flagged as (

    select
        *,
        case
            when current_gross_margin < 0 then 'negative'
            when
                current_revenue = 0
                or current_gross_margin * 100 < margin_target_pct * current_revenue
                then 'below_target'
            else 'ok'
        end as current_margin_flag,
        case
            when simulated_gross_margin < 0 then 'negative'
            when
                simulated_revenue = 0
                or simulated_gross_margin * 100 < margin_target_pct * simulated_revenue
                then 'below_target'
            else 'ok'
        end as simulated_margin_flag

    from computed

),

final as (

    select
        flagged.scenario
        || '|'
        || flagged.customer_id
        || ':'
        || flagged.period as scenario_customer_margin_id,
        flagged.scenario,
        flagged.customer_id,
        flagged.period,
        flagged.segment,
        flagged.currency,
        flagged.current_revenue,
        flagged.simulated_revenue,
        cast(flagged.simulated_revenue - flagged.current_revenue as decimal(38, 2))
            as revenue_difference,
        flagged.current_cogs,
        flagged.simulated_cogs,
        flagged.current_gross_margin,
        flagged.simulated_gross_margin,
        cast(flagged.simulated_gross_margin - flagged.current_gross_margin as decimal(38, 2))
            as margin_difference,
        case
            when flagged.current_revenue <> 0
                then {{ round_money(safe_divide('current_gross_margin * 100', 'current_revenue')) }}
        end as current_margin_pct,
        case
            when flagged.simulated_revenue <> 0
                then
                    {{ round_money(safe_divide(
                        'simulated_gross_margin * 100', 'simulated_revenue'
                    )) }}
        end as simulated_margin_pct,
        flagged.margin_target_pct,
        flagged.current_margin_flag,
        flagged.simulated_margin_flag,
        flagged.current_margin_flag = 'ok'
        and flagged.simulated_margin_flag <> 'ok' as falls_below_target

    from flagged

)

select * from final
