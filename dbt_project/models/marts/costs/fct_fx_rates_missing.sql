-- The exchange rates the warehouse needs and reference/fx_rates.csv does not have: one row per
-- customer x billing period x cost day whose COGS (booked in the cost currency) cannot be
-- converted to the customer's reporting currency. Those COGS are NULL in the margin marts
-- (fx_status missing_rate), never 0, and `meterline close` refuses the customer's period until
-- the rate is added (or the customer is excluded).
with

cogs as (

    select * from {{ ref('int_cogs_periods_mapped') }}
    where fx_status = 'missing_rate'

),

final as (

    select
        customer_id
        || ':'
        || period
        || '|'
        || cast(cast(cost_date as date) as {{ text_type() }}) as missing_rate_id,
        customer_id,
        period,
        cost_date as rate_date,
        any_value(cost_currency) as from_currency,
        any_value(reporting_currency) as to_currency,
        cast(sum(allocated_amount) as decimal(38, 2)) as unconverted_cogs,
        count(*) as cogs_rows

    from cogs
    group by customer_id, period, cost_date

)

select * from final
