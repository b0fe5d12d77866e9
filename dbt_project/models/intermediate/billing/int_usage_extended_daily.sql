-- Daily usage of the meters that read extra `data` keys (int_usage_meter_extra_keys), per
-- customer x meter x local day x every typed dimension x extra_dimensions (a JSON object of the
-- meter's extra keys with their values). Only events of those meters' event types are read, so
-- the JSON extraction costs nothing to meters on typed fields. Same columns and quantity rules as
-- int_usage_daily_metered (status rule, equality filters, sum/count/max/latest/count_unique).
with

events as (

    select * from {{ ref('stg_usage__events') }}

),

customers as (

    select * from {{ ref('stg_reference__customers') }}

),

meters as (

    select * from {{ ref('stg_reference__meters') }}

),

meter_filters as (

    select * from {{ ref('stg_reference__meter_filters') }}

),

extra_keys as (

    select * from {{ ref('int_usage_meter_extra_keys') }}

),

meter_keys as (

    select
        meter_code,
        {{ sorted_distinct_list('extra_key', "key_role in ('dimension', 'price_condition')") }}
            as extra_keys

    from extra_keys
    group by meter_code

),

extended_meters as (

    select
        meters.meter_code,
        meters.meter_name,
        meters.event_type,
        meters.aggregation,
        meters.field,
        meters.unit,
        meters.dimensions,
        meters.include_failed,
        meter_keys.extra_keys

    from meters
    inner join meter_keys
        on meters.meter_code = meter_keys.meter_code

),

meter_events as (

    {{ meter_event_rows('extended_meters', 'events', 'meter_filters', [
        'meter_code', 'meter_name', 'aggregation', 'unit', 'dimensions as meter_dimensions',
        'extra_keys']) }}

),

metered_events as (

    select
        meter_events.customer_id,
        meter_events.meter_code,
        meter_events.meter_name,
        meter_events.aggregation,
        meter_events.unit,
        meter_events.meter_dimensions,
        meter_events.event_type,
        cast(
            {{ to_local_ts('meter_events.event_time', "coalesce(customers.timezone, 'UTC')") }}
            as date
        ) as usage_date,
        {%- for dim in usage_dimension_fields() %}
            meter_events.{{ dim }},
        {%- endfor %}
        {{ json_project('meter_events.extra_data', 'meter_events.extra_keys') }}
            as extra_dimensions,
        meter_events.value_quantity,
        meter_events.value_text,
        meter_events.event_time,
        meter_events.event_source,
        meter_events.event_id

    from meter_events
    left join customers
        on meter_events.customer_id = customers.customer_id

),

aggregated as (

    select
        customer_id,
        meter_code,
        usage_date,
        {%- for dim in usage_dimension_fields() %}
            {{ dim }},
        {%- endfor %}
        extra_dimensions,
        any_value(meter_name) as meter_name,
        any_value(aggregation) as aggregation,
        any_value(unit) as unit,
        any_value(meter_dimensions) as meter_dimensions,
        any_value(event_type) as event_type,
        count(*) as event_count,
        sum(value_quantity) as sum_quantity,
        max(value_quantity) as max_quantity,
        {{ arg_max_by('value_quantity', ['event_time', 'event_source', 'event_id']) }}
            as latest_quantity,
        count(distinct value_text) as distinct_values,
        {{ sorted_distinct_list('value_text', "aggregation = 'count_unique'") }} as unique_values,
        min(event_time) as first_event_time,
        max(event_time) as last_event_time

    from metered_events
    group by
        customer_id,
        meter_code,
        usage_date,
        {%- for dim in usage_dimension_fields() %}
            {{ dim }},
        {%- endfor %}
        extra_dimensions

),

final as (

    select
        {{ usage_daily_key(with_extra=true) }} as usage_daily_id,
        customer_id,
        meter_code,
        meter_name,
        aggregation,
        unit,
        usage_date,
        {{ period_of('usage_date') }} as period,
        event_type,
        {{ dimensions_text('meter_dimensions', none, 'extra_dimensions') }} as dimensions,
        {%- for dim in usage_dimension_fields() %}
            {{ dim }},
        {%- endfor %}
        event_count,
        cast(
            case aggregation
                when 'sum' then coalesce(sum_quantity, 0)
                when 'count' then event_count
                when 'max' then max_quantity
                when 'latest' then latest_quantity
                when 'count_unique' then distinct_values
            end
            as decimal(38, 9)
        ) as quantity,
        unique_values,
        first_event_time,
        last_event_time,
        extra_dimensions

    from aggregated

)

select * from final
