{{ config(tags=['scenarios']) }}
-- Invoice lines re-rated in scenario mode (baseline and scenarios). The line key of a fee line
-- names the plan; a scenario's shadow plan code `<code>@<scenario>` is mapped back to `<code>`
-- so a line compares with the baseline's line of the same subscription.
with

source as (

    select * from {{ source('scenario_results', 'invoice_lines') }}

),

final as (

    select
        scenario,
        invoice_id,
        customer_id,
        period,
        replace(line_key, '@' || scenario, '') as line_key,
        line_type,
        description,
        meter_code,
        dimensions,
        quantity,
        unit_price,
        amount,
        replace(plan_code, '@' || scenario, '') as plan_code,
        plan_version

    from source

)

select * from final
