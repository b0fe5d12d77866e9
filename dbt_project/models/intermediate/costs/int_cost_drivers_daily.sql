-- Allocation drivers per customer x UTC day. A driver is either a meter code of meters.yml
-- (the meter's aggregation of its field over its event type, filters and include_failed
-- applied; `max`/`latest` meters use the day's maximum) or a built-in name, over successful
-- events: `requests` (event count), the usage quantity fields (`input_tokens`,
-- `output_tokens`, `tokens`, `images`, `audio_seconds`, `characters`, `gpu_seconds`,
-- `gb_stored`) and `model_cost` (expected provider cost of the customer's model usage).
-- A meter code wins over a built-in of the same name. Only positive weights are kept.
-- Aggregate before join: everything but `count_unique` meters is read from the batch aggregates
-- of int_usage_batches_daily; only count_unique meters read their event type's events.
with

batches as {{ inline_cte() }} (

    select * from {{ ref('int_usage_batches_daily') }}

),

events as (

    select * from {{ ref('stg_usage__events') }}

),

expected as (

    select * from {{ ref('int_usage_costs_expected') }}

),

meters as (

    select * from {{ ref('stg_reference__meters') }}

),

meter_filters as (

    select * from {{ ref('stg_reference__meter_filters') }}

),

{%- set fields = ['input_tokens', 'cached_input_tokens', 'cache_write_tokens', 'output_tokens',
                  'images', 'audio_seconds', 'characters', 'gpu_seconds', 'gb_stored',
                  'requests'] %}

-- meter rows of the batch aggregates: status rule and equality filters, as billing applies
-- them (meter_batch_rows)
summed_meters as (

    select * from meters
    where aggregation <> 'count_unique'

),

batch_meters as (

    {{ meter_batch_rows('summed_meters', 'batches', 'meter_filters') }}

),

meter_rows as (

    select
        meter_code,
        aggregation,
        customer_id,
        utc_date as usage_date,
        event_count,
        case field
            {%- for f in fields %}
            when '{{ f }}' then cast(sum_{{ f }} as decimal(38, 15))
            {%- endfor %}
        end as field_sum,
        case field
            {%- for f in fields %}
            when '{{ f }}' then cast(max_{{ f }} as decimal(38, 15))
            {%- endfor %}
        end as field_max

    from batch_meters

),

meter_drivers_summed as (

    select
        customer_id,
        usage_date,
        meter_code as driver,
        cast(
            case
                when aggregation = 'count' then sum(event_count)
                when aggregation in ('max', 'latest') then coalesce(max(field_max), 0)
                else coalesce(sum(field_sum), 0)
            end
            as decimal(38, 15)
        ) as driver_quantity

    from meter_rows
    group by customer_id, usage_date, meter_code, aggregation

),

-- count_unique: distinct values of the day, from the events of those meters' event types only
unique_meters as (

    select * from meters
    where aggregation = 'count_unique'

),

unique_events as (

    select
        unique_meters.meter_code,
        events.customer_id,
        cast(events.event_time as date) as usage_date,
        case unique_meters.field
            {%- for f in fields %}
            when '{{ f }}' then cast(events.{{ f }} as decimal(38, 15))
            {%- endfor %}
        end as field_value

    from unique_meters
    inner join events
        on events.event_type = unique_meters.event_type
        and (unique_meters.include_failed or events.status = 'success')
    where not exists (
        select 1
        from meter_filters
        where meter_filters.meter_code = unique_meters.meter_code
            and coalesce(
                cast({{ dimension_value('meter_filters.field', 'events') }} as varchar), ''
            ) <> meter_filters.filter_value
    )

),

meter_drivers_unique as (

    select
        customer_id,
        usage_date,
        meter_code as driver,
        cast(count(distinct field_value) as decimal(38, 15)) as driver_quantity

    from unique_events
    group by customer_id, usage_date, meter_code

),

daily as (

    select
        customer_id,
        utc_date as usage_date,
        cast(sum(event_count) as decimal(38, 15)) as requests,
        cast(coalesce(sum(sum_input_tokens), 0) as decimal(38, 15)) as input_tokens,
        cast(coalesce(sum(sum_output_tokens), 0) as decimal(38, 15)) as output_tokens,
        cast(
            coalesce(sum(sum_input_tokens), 0) + coalesce(sum(sum_output_tokens), 0)
            as decimal(38, 15)
        ) as tokens,
        cast(coalesce(sum(sum_images), 0) as decimal(38, 15)) as images,
        cast(coalesce(sum(sum_audio_seconds), 0) as decimal(38, 15)) as audio_seconds,
        cast(coalesce(sum(sum_characters), 0) as decimal(38, 15)) as characters,
        cast(coalesce(sum(sum_gpu_seconds), 0) as decimal(38, 15)) as gpu_seconds,
        cast(coalesce(sum(sum_gb_stored), 0) as decimal(38, 15)) as gb_stored

    from batches
    where status = 'success'
    group by customer_id, utc_date

),

model_cost as (

    select
        customer_id,
        usage_date,
        'model_cost' as driver,
        {{ to_cost('sum(expected_cost)') }} as driver_quantity

    from expected
    where is_priced
    group by all

),

unpivoted as (

    select customer_id, usage_date, driver, driver_quantity
    from daily
    cross join lateral (
        values
            ('requests', requests),
            ('input_tokens', input_tokens),
            ('output_tokens', output_tokens),
            ('tokens', tokens),
            ('images', images),
            ('audio_seconds', audio_seconds),
            ('characters', characters),
            ('gpu_seconds', gpu_seconds),
            ('gb_stored', gb_stored)
    ) as d (driver, driver_quantity)
    union all
    select customer_id, usage_date, driver, driver_quantity
    from model_cost

),

final as (

    select * from unpivoted
    where driver_quantity > 0
        and driver not in (select meter_code from meters)
    union all
    select * from meter_drivers_summed
    where driver_quantity > 0
    union all
    select * from meter_drivers_unique
    where driver_quantity > 0

)

select * from final
