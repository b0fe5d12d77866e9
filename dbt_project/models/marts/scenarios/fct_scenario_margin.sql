{{ config(tags=['scenarios']) }}
-- Revenue, COGS and gross margin of each scenario vs the baseline, per scenario x customer x
-- period x provider x model (the keys of fct_customer_margin_breakdown; non-usage rows are model
-- '(non-usage)'). Revenue is the margin breakdown re-built in scenario mode (invoice subtotal -
-- promotional credits, split by usage). Simulated COGS = the same COGS plus the scenario's
-- provider cost changes (int_scenario_cogs_changes); shared (allocated) COGS do not change.
-- Amounts are in the customer's invoice currency (`currency`, as fct_customer_margin): a
-- scenario total adds rows of one currency only.
with

scenarios as (

    select * from {{ ref('stg_scenarios__scenarios') }}
    where scenario in (
        select scenario_rows.scenario from {{ ref('stg_scenarios__margin_rows') }} as scenario_rows
    )

),

margin_rows as (

    select * from {{ ref('stg_scenarios__margin_rows') }}

),

cogs_changes as (

    select * from {{ ref('int_scenario_cogs_changes') }}

),

customers as (

    select * from {{ ref('stg_reference__customers') }}

),

current_rows as (

    select
        scenarios.scenario,
        margin_rows.customer_id,
        margin_rows.period,
        margin_rows.provider,
        margin_rows.model,
        sum(margin_rows.revenue) as revenue,
        sum(margin_rows.cogs_direct) as cogs_direct,
        sum(margin_rows.cogs_allocated) as cogs_allocated

    from margin_rows
    inner join scenarios
        on
            margin_rows.scenario = 'current'
            and margin_rows.period >= scenarios.period_from
            and margin_rows.period <= scenarios.period_to
    group by 1, 2, 3, 4, 5

),

simulated_rows as (

    select
        margin_rows.scenario,
        margin_rows.customer_id,
        margin_rows.period,
        margin_rows.provider,
        margin_rows.model,
        sum(margin_rows.revenue) as revenue,
        sum(margin_rows.cogs_direct) as cogs_direct,
        sum(margin_rows.cogs_allocated) as cogs_allocated

    from margin_rows
    inner join scenarios
        on margin_rows.scenario = scenarios.scenario
    group by 1, 2, 3, 4, 5

),

joined as (

    select
        coalesce(simulated_rows.scenario, current_rows.scenario) as scenario,
        coalesce(simulated_rows.customer_id, current_rows.customer_id) as customer_id,
        coalesce(simulated_rows.period, current_rows.period) as period,
        coalesce(simulated_rows.provider, current_rows.provider) as provider,
        coalesce(simulated_rows.model, current_rows.model) as model,
        cast(coalesce(current_rows.revenue, 0) as decimal(38, 2)) as current_revenue,
        cast(coalesce(simulated_rows.revenue, 0) as decimal(38, 2)) as simulated_revenue,
        cast(
            coalesce(current_rows.cogs_direct, 0) + coalesce(current_rows.cogs_allocated, 0)
            as decimal(38, 2)
        ) as current_cogs,
        cast(
            coalesce(simulated_rows.cogs_direct, 0) + coalesce(simulated_rows.cogs_allocated, 0)
            as decimal(38, 2)
        ) as rerated_cogs

    from current_rows
    full outer join simulated_rows
        on
            current_rows.scenario = simulated_rows.scenario
            and current_rows.customer_id = simulated_rows.customer_id
            and current_rows.period = simulated_rows.period
            and current_rows.provider = simulated_rows.provider
            and current_rows.model = simulated_rows.model

),

with_costs as (

    select
        joined.scenario,
        joined.customer_id,
        joined.period,
        joined.provider,
        joined.model,
        joined.current_revenue,
        joined.simulated_revenue,
        joined.current_cogs,
        cast(joined.rerated_cogs + coalesce(cogs_changes.cogs_change, 0) as decimal(38, 2))
            as simulated_cogs,
        cast(coalesce(cogs_changes.cogs_change, 0) as decimal(38, 2)) as cogs_change

    from joined
    left join cogs_changes
        on
            joined.scenario = cogs_changes.scenario
            and joined.customer_id = cogs_changes.customer_id
            and joined.period = cogs_changes.period
            and joined.provider = cogs_changes.provider
            and joined.model = cogs_changes.model

),

final as (

    select
        with_costs.scenario || '|' || with_costs.customer_id || ':' || with_costs.period || '|'
        || with_costs.provider || '|' || with_costs.model as scenario_margin_id,
        with_costs.scenario,
        with_costs.customer_id,
        with_costs.period,
        customers.segment,
        coalesce(customers.currency, '{{ var("cost_currency") }}') as currency,
        with_costs.provider,
        with_costs.model,
        with_costs.current_revenue,
        with_costs.simulated_revenue,
        cast(with_costs.simulated_revenue - with_costs.current_revenue as decimal(38, 2))
            as revenue_difference,
        with_costs.current_cogs,
        with_costs.simulated_cogs,
        with_costs.cogs_change,
        cast(with_costs.current_revenue - with_costs.current_cogs as decimal(38, 2))
            as current_gross_margin,
        cast(with_costs.simulated_revenue - with_costs.simulated_cogs as decimal(38, 2))
            as simulated_gross_margin,
        case
            when with_costs.current_revenue <> 0
                then {{ round_money(safe_divide(
                    '(with_costs.current_revenue - with_costs.current_cogs) * 100',
                    'with_costs.current_revenue')) }}
        end as current_margin_pct,
        case
            when with_costs.simulated_revenue <> 0
                then {{ round_money(safe_divide(
                    '(with_costs.simulated_revenue - with_costs.simulated_cogs) * 100',
                    'with_costs.simulated_revenue')) }}
        end as simulated_margin_pct

    from with_costs
    left join customers
        on with_costs.customer_id = customers.customer_id

)

select * from final
