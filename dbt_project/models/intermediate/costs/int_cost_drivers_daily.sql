-- Allocation drivers per customer x UTC day. A driver is either a meter code of meters.yml
-- (the meter's aggregation of its field over its event type, filters and include_failed
-- applied; `max`/`latest` meters use the day's maximum) or a built-in name, over successful
-- events: `requests` (event count), the usage quantity fields (`input_tokens`,
-- `output_tokens`, `tokens`, `images`, `audio_seconds`, `characters`, `gpu_seconds`,
-- `gb_stored`) and `model_cost` (expected provider cost of the customer's model usage).
-- A meter code wins over a built-in of the same name. Only positive weights are kept.
-- Aggregate before join: meters are read from the batch aggregates of int_usage_batches_daily,
-- except `count_unique` meters and meters whose field or a filter is an extra `data` key (the
-- aggregates carry typed fields only): those read their event type's events, with billing's
-- value and filter rules (meter_event_rows, as int_usage_extended_daily).
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

extra_keys as (

    select * from {{ ref('int_usage_meter_extra_keys') }}

),

-- meters that need their events: the batch aggregates cannot answer them
event_meters as (

    select * from meters
    where
        aggregation = 'count_unique'
        or meter_code in (
            select extra_keys.meter_code from extra_keys
            where extra_keys.key_role in ('field', 'filter')
        )

),

-- meter rows of the batch aggregates: status rule and equality filters, as billing applies
-- them (meter_batch_rows)
summed_meters as (

    select * from meters
    where meter_code not in (select event_meters.meter_code from event_meters)

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
        cast({{ quantity_value('field', 'sum_') }} as decimal(38, 15)) as field_sum,
        cast({{ quantity_value('field', 'max_') }} as decimal(38, 15)) as field_max

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

event_rows as (

    {{ meter_event_rows('event_meters', 'events', 'meter_filters') }}

),

meter_drivers_events as (

    select
        customer_id,
        cast(event_time as date) as usage_date,
        meter_code as driver,
        cast(
            case
                when aggregation = 'count' then count(*)
                when aggregation = 'count_unique' then count(distinct value_text)
                when aggregation in ('max', 'latest') then coalesce(max(value_quantity), 0)
                else coalesce(sum(value_quantity), 0)
            end
            as decimal(38, 15)
        ) as driver_quantity

    from event_rows
    group by customer_id, cast(event_time as date), meter_code, aggregation

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

    -- lateral_rows names its columns per engine: they stay unqualified
    -- noqa: disable=RF02
    select
        customer_id,
        usage_date,
        driver,
        driver_quantity
    from daily
    {{ lateral_rows([
            ["'requests'", 'requests'],
            ["'input_tokens'", 'input_tokens'],
            ["'output_tokens'", 'output_tokens'],
            ["'tokens'", 'tokens'],
            ["'images'", 'images'],
            ["'audio_seconds'", 'audio_seconds'],
            ["'characters'", 'characters'],
            ["'gpu_seconds'", 'gpu_seconds'],
            ["'gb_stored'", 'gb_stored']
        ],
        'd', ['driver', 'driver_quantity']) }}
    union all
    select
        customer_id,
        usage_date,
        driver,
        driver_quantity
    from model_cost
    -- noqa: enable=RF02

),

final as (

    select * from unpivoted
    where
        driver_quantity > 0
        and driver not in (select meters.meter_code from meters)
    union all
    select * from meter_drivers_summed
    where driver_quantity > 0
    union all
    select * from meter_drivers_events
    where driver_quantity > 0

)

select * from final
