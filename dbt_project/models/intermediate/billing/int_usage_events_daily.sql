-- Usage per customer x event type x local day x every dimension: the batch aggregates of
-- int_usage_batches_daily (the only pass over events) added up across batches and UTC days.
-- Every quantity field is summed and maxed so that any meter (sum, count, max) is a column pick
-- on this small table. Local day = customer's time zone. A view: only int_usage_daily_metered
-- reads it.
{{ config(materialized='view') }}
with

batches as (

    select * from {{ ref('int_usage_batches_daily') }}

),

aggregated as (

    select
        customer_id,
        event_type,
        usage_date,
        {%- for dim in usage_dimension_fields() %}
        {{ dim }},
        {%- endfor %}
        cast(sum(event_count) as bigint) as event_count,
        {%- for field in usage_quantity_fields() %}
        sum(sum_{{ field }}) as sum_{{ field }},
        max(max_{{ field }}) as max_{{ field }},
        {%- endfor %}
        min(first_event_time) as first_event_time,
        max(last_event_time) as last_event_time

    from batches
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
