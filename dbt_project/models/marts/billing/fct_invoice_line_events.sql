-- Traceability: the deduplicated events that make up each usage invoice line (drafts, and the
-- current rating of an issued line: same line_key), with each event's quantity for the line's
-- meter and where it came from (file_path, row_number of the raw file). For sum and count meters
-- a line's event quantities add up to its quantity (tests/test_rating_scenarios.py checks it for
-- every usage line). A view: nothing is copied at build time; a read filters one line (and its
-- customer_id, which narrows the events scanned).
{{ config(materialized='view') }}

with

line as (

    select * from {{ ref('int_billing_usage_rated') }}

),

priced as (

    select * from {{ ref('int_billing_usage_priced') }}

),

meters as (

    select * from {{ ref('stg_reference__meters') }}

),

customers as (

    select * from {{ ref('stg_reference__customers') }}

),

periods as (

    select * from {{ ref('int_billing_periods') }}

),

events as (

    select * from {{ ref('stg_usage__events') }}

),

meter_filters as (

    select * from {{ ref('stg_reference__meter_filters') }}

),

extra_keys as (

    select * from {{ ref('int_usage_meter_extra_keys') }}

),

line_rows as (

    select
        priced.usage_daily_id,
        -- the invoice that carries the line: the parent's for a child billed to it (issue 22)
        periods.billing_invoice_id as invoice_id,
        {{ account_line_key('line.customer_id', 'periods.billing_customer_id', 'line.line_key') }}
            as line_key,
        line.meter_code,
        line.quantity as line_quantity

    from priced
    inner join line
        on
            priced.customer_id = line.customer_id
            and priced.period = line.period
            and priced.subscription_id = line.subscription_id
            and priced.meter_code = line.meter_code
            and priced.charge_index = line.charge_index
            and priced.price_index = line.price_index
    inner join periods
        on line.invoice_id = periods.invoice_id

),

used as (

    select distinct meter_code from line_rows

),

meter_keys as (

    select
        meter_code,
        {{ sorted_distinct_list('extra_key', "key_role in ('dimension', 'price_condition')") }}
            as extra_keys

    from extra_keys
    group by meter_code

),

line_meter as (

    select
        meters.*,
        meter_keys.extra_keys

    from meters
    inner join used
        on meters.meter_code = used.meter_code
    left join meter_keys
        on meters.meter_code = meter_keys.meter_code

),

customer_events as (

    select
        events.*,
        line_meter.meter_code,
        line_meter.aggregation,
        line_meter.field,
        -- meters on extra data keys: the event's values of those keys (NULL for other meters)
        {{ json_project('events.extra_data', 'line_meter.extra_keys') }} as extra_dimensions,
        cast(
            {{ to_local_ts('events.event_time', "coalesce(customers.timezone, 'UTC')") }} as date
        ) as usage_date

    from events
    inner join line_meter
        on events.event_type = line_meter.event_type
    inner join customers
        on events.customer_id = customers.customer_id
    where
        events.customer_id in (select line.customer_id from line)
        and not exists (
            select 1 as is_match
            from meter_filters
            where
                meter_filters.meter_code = line_meter.meter_code
                and {{ dimension_value('meter_filters.field', 'events', 'events.extra_data') }}
                is distinct from meter_filters.filter_value
        )

),

final as (

    select
        line_rows.invoice_id,
        line_rows.line_key,
        customer_events.event_source,
        customer_events.event_id,
        customer_events.event_time,
        customer_events.usage_date,
        customer_events.file_path,
        customer_events.row_number,
        customer_events.meter_code,
        case
            when customer_events.aggregation = 'count' then cast(1 as decimal(38, 9))
            else
                {{ quantity_value(
                    'customer_events.field',
                    'customer_events.',
                    'customer_events.extra_data'
                ) }}
        end as quantity,
        line_rows.line_quantity,
        customer_events.customer_id

    from customer_events
    inner join line_rows
        on {{ usage_daily_key('customer_events', with_extra=true) }} = line_rows.usage_daily_id

)

select * from final
