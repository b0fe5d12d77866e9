-- Tiers of graduated/volume price rows with their bounds: a tier holds the units in
-- (lower_bound, up_to]; lower_bound is the previous tier's up_to (0 for the first tier).
with

tiers as (

    select * from {{ ref('stg_reference__plan_price_tiers') }}

),

final as (

    select
        plan_code,
        plan_version,
        charge_index,
        price_index,
        tier_index,
        coalesce(
            lag(up_to) over (
                partition by plan_code, plan_version, charge_index, price_index
                order by tier_index
            ),
            cast(0 as decimal(38, 9))
        ) as lower_bound,
        up_to,
        unit_price,
        flat_fee,
        row_number() over (
            partition by plan_code, plan_version, charge_index, price_index
            order by tier_index
        ) = 1 as is_first_tier

    from tiers

)

select * from final
