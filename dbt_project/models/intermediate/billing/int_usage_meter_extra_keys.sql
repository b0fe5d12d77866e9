-- The event `data` keys without a typed column (they live in stg_usage__events.extra_data) that
-- a meter reads: its `field`, its `dimensions`, its `filter` keys, and the `when` keys of the
-- price rows of every plan charge on the meter. A meter listed here is metered from the events
-- by int_usage_extended_daily (JSON extraction); every other meter stays on the typed path.
-- key_role: field | dimension | filter | price_condition (dimension and price_condition keys are
-- kept on the metered rows, in extra_dimensions).
with

meters as (

    select * from {{ ref('stg_reference__meters') }}

),

meter_filters as (

    select * from {{ ref('stg_reference__meter_filters') }}

),

charges as (

    select * from {{ ref('stg_reference__plan_charges') }}

),

conditions as (

    select * from {{ ref('stg_reference__plan_price_conditions') }}

),

meter_dimensions as (

    select
        meter_code,
        {{ array_unnested('dimensions') }} as extra_key

    from meters

),

used_keys as (

    select
        meter_code,
        field as extra_key,
        'field' as key_role
    from meters
    where aggregation <> 'count' and field is not null

    union all

    select
        meter_code,
        extra_key,
        'dimension' as key_role
    from meter_dimensions

    union all

    select
        meter_code,
        field as extra_key,
        'filter' as key_role
    from meter_filters

    union all

    select
        charges.meter_code,
        conditions.dimension as extra_key,
        'price_condition' as key_role

    from conditions
    inner join charges
        on
            conditions.plan_code = charges.plan_code
            and conditions.plan_version = charges.plan_version
            and conditions.charge_index = charges.charge_index

),

final as (

    select distinct
        meter_code,
        extra_key,
        key_role

    from used_keys
    where extra_key not in {{ typed_field_names_sql() }}

)

select * from final
