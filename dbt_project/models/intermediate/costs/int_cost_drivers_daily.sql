-- Allocation drivers per customer x UTC day. A driver is either a meter code of meters.yml
-- (the meter's aggregation of its field over its event type, filters and include_failed
-- applied; `max`/`latest` meters use the day's maximum) or a built-in name, over successful
-- events: `requests` (event count), the usage quantity fields (`input_tokens`,
-- `output_tokens`, `tokens`, `images`, `audio_seconds`, `characters`, `gpu_seconds`,
-- `gb_stored`) and `model_cost` (expected provider cost of the customer's model usage).
-- A meter code wins over a built-in of the same name. Only positive weights are kept.
with

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
{%- set dims = ['provider', 'model', 'status', 'outcome', 'gpu_type', 'feature', 'endpoint',
                'workspace_id', 'service_tier'] %}

meter_events as (

    select
        meters.meter_code,
        meters.aggregation,
        events.customer_id,
        cast(events.event_time as date) as usage_date,
        {%- for d in dims %}
        cast(events.{{ d }} as varchar) as dim_{{ d }},
        {%- endfor %}
        case meters.field
            {%- for f in fields %}
            when '{{ f }}' then cast(events.{{ f }} as decimal(38, 15))
            {%- endfor %}
        end as field_value

    from meters
    inner join events
        on events.event_type = meters.event_type
        and (meters.include_failed or events.status = 'success')

),

meter_events_filtered as (

    select meter_events.*
    from meter_events
    where not exists (
        select 1
        from meter_filters
        where meter_filters.meter_code = meter_events.meter_code
            and coalesce(
                case meter_filters.field
                    {%- for d in dims %}
                    when '{{ d }}' then meter_events.dim_{{ d }}
                    {%- endfor %}
                end,
                ''
            ) <> meter_filters.filter_value
    )

),

meter_drivers as (

    select
        customer_id,
        usage_date,
        meter_code as driver,
        cast(
            case
                when aggregation = 'count' then count(*)
                when aggregation = 'count_unique' then count(distinct field_value)
                when aggregation in ('max', 'latest') then max(coalesce(field_value, 0))
                else sum(coalesce(field_value, 0))
            end
            as decimal(38, 15)
        ) as driver_quantity

    from meter_events_filtered
    group by customer_id, usage_date, meter_code, aggregation

),

daily as (

    select
        customer_id,
        cast(event_time as date) as usage_date,
        cast(count(*) as decimal(38, 15)) as requests,
        cast(sum(input_tokens) as decimal(38, 15)) as input_tokens,
        cast(sum(output_tokens) as decimal(38, 15)) as output_tokens,
        cast(sum(input_tokens + output_tokens) as decimal(38, 15)) as tokens,
        cast(sum(coalesce(images, 0)) as decimal(38, 15)) as images,
        cast(sum(coalesce(audio_seconds, 0)) as decimal(38, 15)) as audio_seconds,
        cast(sum(coalesce(characters, 0)) as decimal(38, 15)) as characters,
        cast(sum(coalesce(gpu_seconds, 0)) as decimal(38, 15)) as gpu_seconds,
        cast(sum(coalesce(gb_stored, 0)) as decimal(38, 15)) as gb_stored

    from events
    where status = 'success'
    group by all

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
    select * from meter_drivers
    where driver_quantity > 0

)

select * from final
