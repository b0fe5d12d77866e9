-- One row per usage invoice line: customer x period x subscription x charge x matched price row.
-- The line quantity aggregates the matched daily rows the meter's way over the period: sum and
-- count add up, max takes the maximum, latest the last event's value, count_unique the distinct
-- values of the whole period. Tiers and free units therefore apply per subscription and period.
with

priced as (

    select * from {{ ref('int_billing_usage_priced') }}
    where unpriced_reason is null

),

prices as (

    select * from {{ ref('stg_reference__plan_prices') }}

),

conditions as (

    select * from {{ ref('stg_reference__plan_price_conditions') }}

),

price_dimensions as (

    select
        plan_code,
        plan_version,
        charge_index,
        price_index,
        string_agg(dimension || '=' || pattern, ', ' order by dimension) as dimensions

    from conditions
    group by plan_code, plan_version, charge_index, price_index

),

grouped as (

    select
        customer_id,
        period,
        subscription_id,
        plan_code,
        plan_version,
        meter_code,
        charge_index,
        price_index,
        any_value(meter_name) as meter_name,
        any_value(unit) as unit,
        any_value(aggregation) as aggregation,
        any_value(charge_model) as charge_model,
        any_value(price_per) as price_per,
        sum(event_count) as event_count,
        sum(quantity) as sum_quantity,
        max(quantity) as max_quantity,
        arg_max(quantity, struct_pack(t := last_event_time, q := quantity)) as latest_quantity,
        len(list_distinct(flatten(list(unique_values)))) as distinct_quantity,
        min(usage_date) as first_usage_date,
        max(usage_date) as last_usage_date

    from priced
    group by
        customer_id,
        period,
        subscription_id,
        plan_code,
        plan_version,
        meter_code,
        charge_index,
        price_index

),

final as (

    select
        'usage:' || grouped.subscription_id || ':' || grouped.meter_code || ':'
        || grouped.charge_index || ':' || grouped.price_index as line_key,
        grouped.customer_id || ':' || grouped.period as invoice_id,
        grouped.customer_id,
        grouped.period,
        grouped.subscription_id,
        grouped.plan_code,
        grouped.plan_version,
        grouped.meter_code,
        grouped.meter_name,
        grouped.unit,
        grouped.aggregation,
        grouped.charge_index,
        grouped.price_index,
        grouped.charge_model,
        grouped.price_per,
        price_dimensions.dimensions,
        prices.unit_price,
        prices.free_units,
        prices.package_size,
        prices.package_price,
        grouped.event_count,
        cast(
            case grouped.aggregation
                when 'max' then grouped.max_quantity
                when 'latest' then grouped.latest_quantity
                when 'count_unique' then grouped.distinct_quantity
                else grouped.sum_quantity
            end
            as decimal(38, 9)
        ) as quantity,
        grouped.first_usage_date,
        grouped.last_usage_date

    from grouped
    inner join prices
        on
            grouped.plan_code = prices.plan_code
            and grouped.plan_version = prices.plan_version
            and grouped.charge_index = prices.charge_index
            and grouped.price_index = prices.price_index
    left join price_dimensions
        on
            grouped.plan_code = price_dimensions.plan_code
            and grouped.plan_version = price_dimensions.plan_version
            and grouped.charge_index = price_dimensions.charge_index
            and grouped.price_index = price_dimensions.price_index

)

select * from final
