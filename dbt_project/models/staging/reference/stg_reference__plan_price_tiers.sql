-- Tiers of graduated and volume price rows, typed; up_to NULL = the last tier.
with

source as (

    select * from {{ reference_source('plan_price_tiers') }}

),

final as (

    select
        trim(plan_code) as plan_code,
        plan_version,
        charge_index,
        price_index,
        tier_index,
        cast(nullif(trim(up_to), '') as decimal(38, 9)) as up_to,
        {{ to_money("nullif(trim(unit_price), '')") }} as unit_price,
        {{ to_money("coalesce(nullif(trim(flat_fee), ''), '0')") }} as flat_fee

    from source

)

select * from final
