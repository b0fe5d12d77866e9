-- Usage events aggregated once per customer x event type x local day x every dimension: the
-- only pass over all events. Every quantity field is summed and maxed here so that any meter
-- (sum, count, max) is a column pick on this small table. Local day = customer's time zone.
with

events as (

    select * from {{ ref('stg_usage__events') }}

),

customers as (

    select * from {{ ref('stg_reference__customers') }}

),

localized as (

    select
        events.customer_id,
        events.event_type,
        cast(
            {{ to_local_ts('events.event_time', "coalesce(customers.timezone, 'UTC')") }} as date
        ) as usage_date,
        {%- for dim in usage_dimension_fields() %}
        events.{{ dim }},
        {%- endfor %}
        {%- for field in usage_quantity_fields() %}
        events.{{ field }},
        {%- endfor %}
        events.event_time

    from events
    left join customers
        on events.customer_id = customers.customer_id

),

aggregated as (

    select
        customer_id,
        event_type,
        usage_date,
        {%- for dim in usage_dimension_fields() %}
        {{ dim }},
        {%- endfor %}
        count(*) as event_count,
        {%- for field in usage_quantity_fields() %}
        sum({{ field }}) as sum_{{ field }},
        max({{ field }}) as max_{{ field }},
        {%- endfor %}
        min(event_time) as first_event_time,
        max(event_time) as last_event_time

    from localized
    group by
        customer_id,
        event_type,
        usage_date
        {%- for dim in usage_dimension_fields() %},
        {{ dim }}
        {%- endfor %}

),

final as (

    select
        {%- set parts = ['customer_id', 'event_type', 'cast(usage_date as varchar)'] %}
        {%- for dim in usage_dimension_fields() %}{% do parts.append("coalesce(" ~ dim ~ ", '\\x00')") %}{% endfor %}
        {{ hash_parts(parts) }} as events_daily_id,
        *

    from aggregated

)

select * from final
