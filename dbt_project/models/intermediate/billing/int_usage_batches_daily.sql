-- The one pass over usage events: deduplicated events aggregated per load batch x customer x
-- event type x local day (customer's time zone) x UTC day x every dimension, with the event
-- count and the sum and max of every quantity field. Billing re-aggregates it by local day
-- (int_usage_events_daily), costs by UTC day (int_usage_quantities_aggregated,
-- int_cost_drivers_daily); sums, counts, maxima and first/last times add up across batches.
--
-- Incremental on the load batch: raw.usage_events is append-only and ingestion decides once, per
-- row, whether it is a duplicate, so a loaded batch's aggregate never changes. A run aggregates
-- only the batches not aggregated yet, plus every batch holding a customer whose time zone
-- changed since (its rows are replaced: delete+insert on batch_id). A change of this model's SQL
-- triggers a full refresh (orchestration/defs/dbt/assets.py compares the node checksum).
{#- Spark (issue 21): no delete+insert without a table format such as Delta; rebuilt whole. -#}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='delete+insert',
    unique_key='batch_id',
    on_schema_change='fail',
) }}
with

events as (

    select * from {{ ref('stg_usage__events') }}

),

customers as (

    select * from {{ ref('stg_reference__customers') }}

),

{%- if is_incremental() %}

-- batches to (re)aggregate: new ones, and those of a customer whose time zone changed
done as (

    select distinct batch_id, customer_id, timezone
    from {{ this }}

),

stale as (

    select distinct done.batch_id
    from done
    left join customers
        on done.customer_id = customers.customer_id
    where coalesce(customers.timezone, 'UTC') <> done.timezone

),

todo_events as (

    select events.*
    from events
    where
        events.batch_id > (select coalesce(max(batch_id), -1) from done)
        or events.batch_id in (select batch_id from stale)

),

{%- else %}

    todo_events as (

        select * from events

    ),

{%- endif %}

localized as (

    select
        todo_events.batch_id,
        todo_events.customer_id,
        coalesce(customers.timezone, 'UTC') as timezone,
        todo_events.event_type,
        cast(
            {{ to_local_ts('todo_events.event_time', "coalesce(customers.timezone, 'UTC')") }}
            as date
        ) as usage_date,
        cast(todo_events.event_time as date) as utc_date,
        {%- for dim in usage_dimension_fields() %}
            todo_events.{{ dim }},
        {%- endfor %}
        {%- for field in usage_quantity_fields() %}
            todo_events.{{ field }},
        {%- endfor %}
        todo_events.event_time

    from todo_events
    left join customers
        on todo_events.customer_id = customers.customer_id

),

final as (

    select
        batch_id,
        customer_id,
        timezone,
        event_type,
        usage_date,
        utc_date,
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
        batch_id,
        customer_id,
        timezone,
        event_type,
        usage_date,
        -- SQLFluff cannot indent a comma that a jinja loop emits
        -- noqa: disable=LT02
        utc_date
        {%- for dim in usage_dimension_fields() %},
        {{ dim }}
        {%- endfor %}  -- noqa: enable=LT02

)

select * from final
