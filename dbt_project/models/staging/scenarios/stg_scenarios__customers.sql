{{ config(tags=['scenarios']) }}
-- The customers each scenario applies to (its `customers:` scope resolved on customers.csv).
with

source as (

    select * from {{ source('scenario_inputs', 'scenario_customers') }}

),

final as (

    select
        scenario,
        customer_id

    from source

)

select * from final
