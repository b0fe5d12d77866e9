-- Invariant (nothing lost silently): the batch aggregates of int_usage_batches_daily, which every
-- usage figure downstream is built from, hold exactly the deduplicated events of stg_usage__events:
-- per load batch, the event count and the sum of every quantity field. Fails on any batch that
-- differs or is missing on either side (an incremental run that skipped or double-counted one).
{%- set fields = usage_quantity_fields() %}
with

events as (

    select
        batch_id,
        -- SQLFluff cannot indent a comma that a jinja loop emits
        -- noqa: disable=LT02
        count(*) as event_count
        {%- for f in fields %},
        coalesce(sum({{ f }}), 0) as sum_{{ f }}
        {%- endfor %}  -- noqa: enable=LT02

    from {{ ref('stg_usage__events') }}
    group by batch_id

),

batches as (

    select
        batch_id,
        -- SQLFluff cannot indent a comma that a jinja loop emits
        -- noqa: disable=LT02
        sum(event_count) as event_count
        {%- for f in fields %},
        coalesce(sum(sum_{{ f }}), 0) as sum_{{ f }}
        {%- endfor %}  -- noqa: enable=LT02

    from {{ ref('int_usage_batches_daily') }}
    group by batch_id

)

select
    coalesce(events.batch_id, batches.batch_id) as batch_id,
    events.event_count as events_count,
    batches.event_count as batches_count

from events
full outer join batches
    on events.batch_id = batches.batch_id
where
    events.batch_id is null
    or batches.batch_id is null
    or events.event_count <> batches.event_count
    {%- for f in fields %}
        or events.sum_{{ f }} <> batches.sum_{{ f }}
    {%- endfor %}
