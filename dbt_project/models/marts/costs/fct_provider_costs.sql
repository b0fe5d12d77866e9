-- The one provider cost ledger, in FOCUS column names, from every provider source.
with

cost_lines as (

    select * from {{ ref('int_provider_costs_unioned') }}

),

final as (

    select * from cost_lines

)

select * from final
