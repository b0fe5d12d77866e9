-- Allocated COGS (int_cogs_allocated, in the provider cost currency: var cost_currency, USD)
-- converted to each customer's reporting currency, its invoice currency (customers.csv), with
-- the rate of the cost's day (reference/fx_rates.csv, 1 cost currency = rate reporting currency
-- on rate_date = cost_date; provider days are UTC days). Each allocation row is converted and
-- rounded once, half away from zero, to the reporting currency's minor unit (whole yen for JPY);
-- every COGS mart sums these rows, so daily, breakdown and margin figures agree exactly.
-- Same currency: rate 1, fx_status 'same_currency', the amount unchanged. No rate for the day:
-- fx_status 'missing_rate' and a NULL converted amount, never 0 (fct_fx_rates_missing lists
-- them and they block closing the customer's period). 'unattributed' stays in the cost currency.
with

allocated as (

    select * from {{ ref('int_cogs_allocated') }}

),

customers as (

    select * from {{ ref('stg_reference__customers') }}

),

rates as (

    select * from {{ ref('stg_reference__fx_rates') }}

),

with_currency as (

    select
        allocated.*,
        '{{ var("cost_currency") }}' as cost_currency,
        coalesce(customers.currency, '{{ var("cost_currency") }}') as reporting_currency,
        coalesce(customers.currency_minor_units, 2) as reporting_minor_units

    from allocated
    left join customers
        on allocated.customer_id = customers.customer_id

),

final as (

    select
        with_currency.allocation_id,
        with_currency.pool_id,
        with_currency.pool_kind,
        with_currency.provider,
        with_currency.cost_date,
        with_currency.customer_id,
        with_currency.model,
        with_currency.feature,
        with_currency.allocated_amount,
        with_currency.cost_currency,
        with_currency.reporting_currency,
        with_currency.reporting_minor_units,
        case
            when with_currency.reporting_currency = with_currency.cost_currency
                then cast(1 as decimal(38, 12))
            else rates.rate
        end as fx_rate,
        case
            when with_currency.reporting_currency = with_currency.cost_currency
                then 'same_currency'
            when rates.rate is null then 'missing_rate'
            else 'converted'
        end as fx_status,
        case
            when with_currency.reporting_currency = with_currency.cost_currency
                then with_currency.allocated_amount
            when rates.rate is not null
                then {{ round_money(
                    'with_currency.allocated_amount * rates.rate',
                    'with_currency.reporting_minor_units'
                ) }}
        end as allocated_amount_reporting

    from with_currency
    left join rates
        on
            with_currency.cost_date = rates.rate_date
            and with_currency.cost_currency = rates.from_currency
            and with_currency.reporting_currency = rates.to_currency

)

select * from final
