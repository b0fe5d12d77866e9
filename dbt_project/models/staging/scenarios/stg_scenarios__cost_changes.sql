{{ config(tags=['scenarios']) }}
-- Provider cost changes of the scenarios: a percentage change of a provider's price component
-- for the models matching a glob, over a date range (UTC days, end exclusive).
with

source as (

    select * from {{ source('scenario_inputs', 'scenario_cost_changes') }}

),

final as (

    select
        scenario,
        change_index,
        lower(trim(provider)) as provider,
        trim(model_pattern) as model_pattern,
        price_component,
        cast(change_pct as decimal(9, 4)) as change_pct,
        effective_from,
        effective_to

    from source

)

select * from final
