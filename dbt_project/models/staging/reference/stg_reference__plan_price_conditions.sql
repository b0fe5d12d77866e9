-- The `when` glob patterns of price rows, one row per price row x dimension.
with

prices as (

    select * from {{ reference_source('plan_prices') }}

),

keys as (

    select
        trim(plan_code) as plan_code,
        plan_version,
        charge_index,
        price_index,
        when_json,
        {{ json_object_keys_unnested('when_json') }} as dimension

    from prices
    where when_json is not null

),

final as (

    select
        plan_code,
        plan_version,
        charge_index,
        price_index,
        dimension,
        {{ json_text('when_json', 'dimension') }} as pattern

    from keys

)

select * from final
