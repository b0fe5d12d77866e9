{{ config(tags=['scenarios']) }}
-- Revenue and COGS per customer x period x provider x model x feature, from the margin
-- breakdown re-built in scenario mode (baseline and scenarios).
with

source as (

    select * from {{ source('scenario_results', 'margin_rows') }}

),

final as (

    select
        scenario,
        customer_id,
        period,
        provider,
        model,
        feature,
        revenue,
        cogs_direct,
        cogs_allocated

    from source

)

select * from final
