-- One row per usage invoice line: customer x period x subscription x charge x matched price row.
-- The line quantity aggregates the matched daily rows the meter's way over the period: sum and
-- count add up, max takes the maximum, latest the last event's value, count_unique the distinct
-- values of the whole period. Tiers and free units therefore apply per subscription and period.
-- A graduated or volume default price row whose first tier has a flat fee gets a line even
-- without usage (PRICING.md: the first tier's flat fee is charged even at quantity 0; volume:
-- 0 x unit_price + the flat fee of the tier containing 0, the first).
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

subscription_periods as (

    select * from {{ ref('int_billing_subscription_periods') }}

),

charges as (

    select * from {{ ref('stg_reference__plan_charges') }}

),

meters as (

    select * from {{ ref('stg_reference__meters') }}

),

tiers as (

    select * from {{ ref('int_billing_price_tiers') }}

),

price_dimensions as (

    select
        plan_code,
        plan_version,
        charge_index,
        price_index,
        {{ ordered_string_agg("dimension || '=' || pattern", "', '", 'dimension') }} as dimensions

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
        {{ arg_max_by('quantity', ['last_event_time', 'quantity']) }} as latest_quantity,
        {{ count_distinct_in_lists('unique_values') }} as distinct_quantity,
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

first_tier_fees_without_usage as (

    select
        subscription_periods.customer_id,
        subscription_periods.period,
        subscription_periods.subscription_id,
        subscription_periods.plan_code,
        subscription_periods.plan_version,
        charges.meter_code,
        charges.charge_index,
        prices.price_index,
        meters.meter_name,
        meters.unit,
        meters.aggregation,
        charges.charge_model,
        charges.price_per,
        cast(0 as {{ dbt.type_bigint() }}) as event_count,
        cast(0 as decimal(38, 9)) as sum_quantity,
        cast(0 as decimal(38, 9)) as max_quantity,
        cast(0 as decimal(38, 9)) as latest_quantity,
        cast(0 as bigint) as distinct_quantity,
        cast(null as date) as first_usage_date,
        cast(null as date) as last_usage_date

    from subscription_periods
    inner join charges
        on
            subscription_periods.plan_code = charges.plan_code
            and subscription_periods.plan_version = charges.plan_version
            and charges.charge_model in ('graduated', 'volume')
    inner join prices
        on
            charges.plan_code = prices.plan_code
            and charges.plan_version = prices.plan_version
            and charges.charge_index = prices.charge_index
            and prices.when_json is null
    inner join tiers
        on
            prices.plan_code = tiers.plan_code
            and prices.plan_version = tiers.plan_version
            and prices.charge_index = tiers.charge_index
            and prices.price_index = tiers.price_index
            and tiers.is_first_tier
            and tiers.flat_fee > 0
    inner join meters
        on charges.meter_code = meters.meter_code
    where not exists (
        select 1 as is_match
        from grouped
        where
            grouped.subscription_id = subscription_periods.subscription_id
            and grouped.period = subscription_periods.period
            and grouped.charge_index = charges.charge_index
            and grouped.price_index = prices.price_index
    )

),

all_lines as (

    -- both CTEs list the same columns in the same order
    select * from grouped

    union all

    select * from first_tier_fees_without_usage

),

final as (

    select
        {{ usage_line_key('grouped') }} as line_key,
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
        grouped.last_usage_date,
        -- money, or credits: the line's amount is credit units (a credit plan's credit_price)
        line_charges.price_unit

    from all_lines as grouped
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
    left join charges as line_charges
        on
            grouped.plan_code = line_charges.plan_code
            and grouped.plan_version = line_charges.plan_version
            and grouped.charge_index = line_charges.charge_index

)

select * from final
