-- Equality filters of meters (meters.yml `filter`), one row per meter x field.
with

meters as (

    select * from {{ source('raw', 'meters') }}

),

keys as (

    select
        trim(meter_code) as meter_code,
        filter,
        {{ json_object_keys_unnested('filter') }} as field

    from meters
    where filter is not null

),

final as (

    select
        meter_code,
        {{ strip_data_prefix('field') }} as field,
        {{ json_text('filter', 'field') }} as filter_value

    from keys

)

select * from final
