-- Meters (reference/meters.yml), typed. Status filtering default: failed requests excluded.
-- A field or dimension may be written `data.<key>`; the prefix is dropped (the event's data key).
with

source as (

    select * from {{ source('raw', 'meters') }}

),

final as (

    select
        trim(meter_code) as meter_code,
        coalesce(nullif(trim(meter_name), ''), trim(meter_code)) as meter_name,
        trim(event_type) as event_type,
        lower(trim(aggregation)) as aggregation,
        {{ strip_data_prefix("nullif(trim(field), '')") }} as field,
        nullif(trim(unit), '') as unit,
        {{ meter_field_names('dimensions') }} as dimensions,
        filter as filter_json,
        coalesce(include_failed, false) as include_failed,
        batch_id

    from source

)

select * from final
