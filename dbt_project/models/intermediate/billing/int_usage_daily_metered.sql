-- Daily usage per customer x meter x local day x dimensions: the daily aggregates joined to the
-- meters of their event type (aggregate before join), with the status rule and the meters'
-- equality filters applied, and the meter's quantity picked from the aggregates. Meters that read
-- extra `data` keys come metered from int_usage_extended_daily (their own event pass) and are
-- appended; extra_dimensions is NULL for every other meter. A view: its rows are materialized
-- once, with their price match, in int_billing_usage_priced (whose key test covers this grain).
{{ config(materialized='view') }}
with

daily as (

    select * from {{ ref('int_usage_events_daily') }}

),

meters as (

    select * from {{ ref('stg_reference__meters') }}

),

meter_filters as (

    select * from {{ ref('stg_reference__meter_filters') }}

),

event_values as (

    select * from {{ ref('int_usage_meter_event_values') }}

),

extended as (

    select * from {{ ref('int_usage_extended_daily') }}

),

extra_keys as (

    select * from {{ ref('int_usage_meter_extra_keys') }}

),

typed_meters as (

    select * from meters
    where meter_code not in (select meter_code from extra_keys)

),

-- meters without filters join plainly; only the (few) rows of filtered meters are checked
unfiltered_meters as (

    select * from typed_meters
    where meter_code not in (select meter_code from meter_filters)

),

filtered_meters as (

    select * from typed_meters
    where meter_code in (select meter_code from meter_filters)

),

joined_unfiltered as (

    select
        daily.*,
        unfiltered_meters.meter_code,
        unfiltered_meters.meter_name,
        unfiltered_meters.aggregation,
        unfiltered_meters.field,
        unfiltered_meters.unit,
        unfiltered_meters.dimensions as meter_dimensions

    from daily
    inner join unfiltered_meters
        on daily.event_type = unfiltered_meters.event_type
    where unfiltered_meters.include_failed or daily.status = 'success'

),

joined_filtered as (

    select
        daily.*,
        filtered_meters.meter_code,
        filtered_meters.meter_name,
        filtered_meters.aggregation,
        filtered_meters.field,
        filtered_meters.unit,
        filtered_meters.dimensions as meter_dimensions

    from daily
    inner join filtered_meters
        on daily.event_type = filtered_meters.event_type
    where
        (filtered_meters.include_failed or daily.status = 'success')
        and not exists (
            select 1
            from meter_filters
            where
                meter_filters.meter_code = filtered_meters.meter_code
                and {{ dimension_value('meter_filters.field', 'daily') }}
                is distinct from meter_filters.filter_value
        )

),

joined as (

    select * from joined_unfiltered

    union all

    select * from joined_filtered

),

keyed as (

    select
        {{ usage_daily_key() }} as usage_daily_id,
        *

    from joined

),

typed_final as (

    select
        keyed.usage_daily_id,
        keyed.customer_id,
        keyed.meter_code,
        keyed.meter_name,
        keyed.aggregation,
        keyed.unit,
        keyed.usage_date,
        {{ period_of('keyed.usage_date') }} as period,
        keyed.event_type,
        {{ dimensions_text('keyed.meter_dimensions', 'keyed') }} as dimensions,
        {%- for dim in usage_dimension_fields() %}
        keyed.{{ dim }},
        {%- endfor %}
        keyed.event_count,
        cast(
            case keyed.aggregation
                when 'sum' then coalesce({{ quantity_value('keyed.field', 'keyed.sum_') }}, 0)
                when 'count' then keyed.event_count
                when 'max' then {{ quantity_value('keyed.field', 'keyed.max_') }}
                when 'latest' then event_values.latest_quantity
                when 'count_unique' then event_values.distinct_values
            end
            as decimal(38, 9)
        ) as quantity,
        event_values.unique_values,
        keyed.first_event_time,
        keyed.last_event_time,
        cast(null as varchar) as extra_dimensions

    from keyed
    left join event_values
        on keyed.usage_daily_id = event_values.usage_daily_id

),

final as (

    select * from typed_final

    union all

    select * from extended

)

select * from final
