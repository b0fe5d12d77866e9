-- Daily usage per customer x meter x local day x dimensions: the daily aggregates joined to the
-- meters of their event type (aggregate before join), with the status rule and the meters'
-- equality filters applied, and the meter's quantity picked from the aggregates.
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

joined as (

    select
        daily.*,
        meters.meter_code,
        meters.meter_name,
        meters.aggregation,
        meters.field,
        meters.unit,
        meters.dimensions as meter_dimensions

    from daily
    inner join meters
        on daily.event_type = meters.event_type
    where
        (meters.include_failed or daily.status = 'success')
        and not exists (
            select 1
            from meter_filters
            where
                meter_filters.meter_code = meters.meter_code
                and {{ dimension_value('meter_filters.field', 'daily') }}
                is distinct from meter_filters.filter_value
        )

),

keyed as (

    select
        {{ usage_daily_key() }} as usage_daily_id,
        *

    from joined

),

final as (

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
        keyed.last_event_time

    from keyed
    left join event_values
        on keyed.usage_daily_id = event_values.usage_daily_id

)

select * from final
