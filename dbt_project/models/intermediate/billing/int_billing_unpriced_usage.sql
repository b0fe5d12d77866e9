-- Usage no price matched (no subscription that day, no plan version, no charge for the meter in
-- the plan, or no price row whose `when` matches), per customer x period x meter x
-- subscription x dimensions x reason. Never billed at 0: a non-zero quantity blocks closing the
-- customer's period (a zero quantity, e.g. an LLM call with no output tokens, is shown only).
with

priced as (

    select * from {{ ref('int_billing_usage_priced') }}
    where unpriced_reason is not null

),

grouped as (

    select
        {{ hash_parts([
            'customer_id', 'period', 'meter_code', "coalesce(subscription_id, '')",
            'unpriced_reason', 'dimensions'
        ]) }} as unpriced_id,
        customer_id || ':' || period as invoice_id,
        customer_id,
        period,
        meter_code,
        any_value(meter_name) as meter_name,
        any_value(aggregation) as aggregation,
        any_value(unit) as unit,
        dimensions,
        subscription_id,
        any_value(plan_code) as plan_code,
        any_value(plan_version) as plan_version,
        unpriced_reason,
        sum(event_count) as event_count,
        cast(
            case any_value(aggregation)
                when 'max' then max(quantity)
                when 'latest' then {{ arg_max_by('quantity', ['last_event_time', 'quantity']) }}
                when 'count_unique' then {{ count_distinct_in_lists('unique_values') }}
                else sum(quantity)
            end
            as decimal(38, 9)
        ) as quantity,
        min(usage_date) as first_usage_date,
        max(usage_date) as last_usage_date

    from priced
    group by customer_id, period, meter_code, dimensions, subscription_id, unpriced_reason

),

final as (

    select
        *,
        quantity <> 0 as blocks_close

    from grouped

)

select * from final
