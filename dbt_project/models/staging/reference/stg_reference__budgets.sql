-- Customer budgets (reference/budgets.csv).
with

source as (

    select * from {{ source('raw', 'budgets') }}

),

final as (

    select
        trim(customer_id) as customer_id,
        {{ to_money("nullif(trim(monthly_budget), '')") }} as monthly_budget,
        nullif(trim(alert_thresholds_pct), '') as alert_thresholds_pct,
        coalesce(lower(trim(hard_limit)) in ('true', '1', 'yes'), false) as hard_limit

    from source

)

select * from final
