-- Equality filters of meters (meters.yml `filter`), one row per meter x field.
with

meters as (

    select * from {{ source('raw', 'meters') }}

),

keys as (

    select
        trim(meter_code) as meter_code,
        filter,
        unnest(json_keys(filter)) as field

    from meters
    where filter is not null

),

final as (

    select
        meter_code,
        field,
        json_extract_string(filter, field) as filter_value

    from keys

)

select * from final
