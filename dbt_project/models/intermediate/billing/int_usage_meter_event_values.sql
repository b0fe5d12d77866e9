-- Event-level values for the meters that cannot be summed from daily totals: `latest` (the
-- value of the last event of the day, ties broken by source and id) and `count_unique` (the
-- distinct values of the day). Only events of those meters' event types are read.
with

events as (

    select * from {{ ref('stg_usage__events') }}

),

customers as (

    select * from {{ ref('stg_reference__customers') }}

),

extra_keys as (

    select * from {{ ref('int_usage_meter_extra_keys') }}

),

-- meters reading extra data keys are metered by int_usage_extended_daily
meters as (

    select * from {{ ref('stg_reference__meters') }}
    where
        aggregation in ('latest', 'count_unique')
        and meter_code not in (select extra_keys.meter_code from extra_keys)

),

metered as (

    select
        events.customer_id,
        meters.meter_code,
        meters.aggregation,
        cast(
            {{ to_local_ts('events.event_time', "coalesce(customers.timezone, 'UTC')") }} as date
        ) as usage_date,
        {%- for dim in usage_dimension_fields() %}
            events.{{ dim }},
        {%- endfor %}
        coalesce(
            {{ dimension_value('meters.field', 'events') }},
            cast({{ quantity_value('meters.field', 'events.') }} as {{ text_type() }}),
            {{ json_text('events.extra_data', 'meters.field') }}
        ) as value_text,
        {{ quantity_value('meters.field', 'events.') }} as value_quantity,
        events.event_time,
        events.event_source,
        events.event_id

    from events
    inner join meters
        on events.event_type = meters.event_type
    left join customers
        on events.customer_id = customers.customer_id

),

final as (

    select
        {{ usage_daily_key() }} as usage_daily_id,
        customer_id,
        meter_code,
        usage_date,
        max(event_time) as last_event_time,
        {{ arg_max_by('value_quantity', ['event_time', 'event_source', 'event_id']) }}
            as latest_quantity,
        count(distinct value_text) as distinct_values,
        {{ sorted_distinct_list('value_text', "aggregation = 'count_unique'") }} as unique_values

    from metered
    group by
        customer_id,
        meter_code,
        -- SQLFluff cannot indent a comma that a jinja loop emits
        -- noqa: disable=LT02
        usage_date
        {%- for dim in usage_dimension_fields() %},
        {{ dim }}
        {%- endfor %}  -- noqa: enable=LT02

)

select * from final
