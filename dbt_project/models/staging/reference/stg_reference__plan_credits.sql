-- The credits block of credit plan versions (reference/plans/*.yml `credits:`): the monthly
-- allowance in credit units, the rollover cap (0 = reset each period) and the overage rate (money
-- per credit consumed beyond allowance, rollover and packs). Credit units are DECIMAL(38,6).
with

source as (

    select * from {{ source('raw', 'plan_credits') }}

),

final as (

    select
        trim(plan_code) as plan_code,
        plan_version,
        cast(trim(allowance) as decimal(38, 6)) as allowance,
        cast(coalesce(nullif(trim(rollover_cap), ''), '0') as decimal(38, 6)) as rollover_cap,
        {{ to_money("trim(overage_rate)") }} as overage_rate

    from source

)

select * from final
