-- Price rows of each charge, in order (the first whose `when` matches wins).
with

source as (

    select * from {{ reference_source('plan_prices') }}

),

final as (

    select
        trim(plan_code) as plan_code,
        plan_version,
        charge_index,
        price_index,
        when_json,
        {{ json_object_keys_array('when_json') }} as when_dimensions,
        {{ to_money("nullif(trim(unit_price), '')") }} as unit_price,
        cast(coalesce(nullif(trim(free_units), ''), '0') as decimal(38, 9)) as free_units,
        cast(nullif(trim(package_size), '') as decimal(38, 9)) as package_size,
        {{ to_money("nullif(trim(package_price), '')") }} as package_price

    from source

)

select * from final
