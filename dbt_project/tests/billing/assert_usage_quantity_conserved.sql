-- Invariant (nothing lost silently): for every sum/count meter, the quantity on rated usage
-- lines plus the unpriced quantity equals the quantity of the deduplicated events, recomputed
-- here with the meter's status rule and filters: from the batch aggregates for meters on typed
-- fields (assert_usage_batches_conserved proves those equal the events, batch by batch), and
-- straight from stg_usage__events for meters reading extra data keys. (Rated lines are the
-- current rating of every period; issued invoices keep their issued lines and the difference
-- goes to adjustment lines.)
with

events as (

    select * from {{ ref('stg_usage__events') }}

),

batches as {{ inline_cte() }} (

    select * from {{ ref('int_usage_batches_daily') }}

),

extra_keys as (

    select * from {{ ref('int_usage_meter_extra_keys') }}

),

meters as (

    select * from {{ ref('stg_reference__meters') }}
    where aggregation in ('sum', 'count')

),

meter_filters as (

    select * from {{ ref('stg_reference__meter_filters') }}

),

rated as (

    select * from {{ ref('int_billing_usage_rated') }}

),

unpriced as (

    select * from {{ ref('int_billing_unpriced_usage') }}

),

-- batch rows of each typed meter with its status rule and equality filters (meter_batch_rows)
typed_meters as (

    select * from meters
    where meter_code not in (select extra_keys.meter_code from extra_keys)

),

-- meters on extra data keys, chosen before the join (an empty list then reads no events)
extended_meters as (

    select * from meters
    where meter_code in (select extra_keys.meter_code from extra_keys)

),

batch_meters as (

    {{ meter_batch_rows('typed_meters', 'batches', 'meter_filters') }}

),

typed_quantities as (

    select
        meter_code,
        sum(
            case
                when aggregation = 'count' then event_count
                else coalesce({{ quantity_value('field', 'sum_') }}, 0)
            end
        ) as event_quantity

    from batch_meters
    group by meter_code

),

extended_rows as (

    {{ meter_event_rows('extended_meters', 'events', 'meter_filters') }}

),

extended_quantities as (

    select
        meter_code,
        sum(
            case
                when aggregation = 'count' then 1
                else coalesce(value_quantity, 0)
            end
        ) as event_quantity

    from extended_rows
    group by meter_code

),

event_quantities as (

    select * from typed_quantities
    union all
    select * from extended_quantities

),

billed as (

    select
        rated.meter_code,
        sum(rated.quantity) as quantity
    from rated
    inner join meters
        on rated.meter_code = meters.meter_code
    group by rated.meter_code

    union all

    select
        meter_code,
        sum(quantity) as quantity
    from unpriced
    where aggregation in ('sum', 'count')
    group by meter_code

),

billed_totals as (

    select
        meter_code,
        sum(quantity) as billed_quantity
    from billed
    group by meter_code

),

final as (

    select
        coalesce(event_quantities.meter_code, billed_totals.meter_code) as meter_code,
        event_quantities.event_quantity,
        billed_totals.billed_quantity

    from event_quantities
    full outer join billed_totals
        on event_quantities.meter_code = billed_totals.meter_code
    where
        coalesce(event_quantities.event_quantity, 0)
        <> coalesce(billed_totals.billed_quantity, 0)

)

select * from final
