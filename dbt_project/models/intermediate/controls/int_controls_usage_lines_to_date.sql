-- Usage lines rated to date, day by day: for every usage line (customer x period x subscription
-- x charge x price row, the invoice line grain of int_billing_usage_line_quantities) and every
-- local day the line has usage, the period-to-date quantity (aggregated the meter's way over
-- the days so far) priced by the macro that prices the invoice lines (usage_line_amounts), and
-- rounded once like the invoice line. The day's amount is the increase of that rounded line
-- amount, so tiers and free units apply cumulatively within the period and the day amounts of a
-- line add up exactly to its invoice amount. Works on the daily aggregates, never on events.
-- Each line also has a quantity-0 row on its subscription's first active day of the period
-- (before any usage), which carries an amount due at quantity 0 (a graduated or volume first
-- tier's flat fee).
with

priced as (

    select * from {{ ref('int_billing_usage_priced') }}
    where unpriced_reason is null

),

lines as (

    select * from {{ ref('int_billing_usage_line_quantities') }}

),

subscription_periods as (

    select * from {{ ref('int_billing_subscription_periods') }}

),

prices as (

    select * from {{ ref('stg_reference__plan_prices') }}

),

customers as (

    select * from {{ ref('stg_reference__customers') }}

),

tiers as (

    select * from {{ ref('int_billing_price_tiers') }}

),

credit_charges as (

    select * from {{ ref('stg_reference__plan_charges') }}
    where price_unit = 'credits'

),

line_days as (

    select
        {{ usage_line_key() }} as line_key,
        customer_id,
        period,
        usage_date,
        subscription_id,
        plan_code,
        plan_version,
        meter_code,
        charge_index,
        price_index,
        any_value(aggregation) as aggregation,
        any_value(charge_model) as charge_model,
        any_value(price_per) as price_per,
        sum(quantity) as sum_quantity,
        max(quantity) as max_quantity,
        -- each only for the meters that read it (aggregation is constant within a group): the
        -- struct ordering and the list building were most of this model's time
        {{ arg_max_by('quantity', ['last_event_time', 'quantity'], "aggregation = 'latest'") }}
            as latest_quantity,
        {{ distinct_of_lists('unique_values', "aggregation = 'count_unique'") }} as unique_values

    from priced
    group by
        customer_id,
        period,
        usage_date,
        subscription_id,
        plan_code,
        plan_version,
        meter_code,
        charge_index,
        price_index

),

-- every invoice usage line also starts at quantity 0 on the subscription's first active day of
-- the period, so an amount due at quantity 0 (a graduated or volume first tier's flat fee) is
-- charged on that day, with or without usage later in the period
line_starts as (

    select
        lines.line_key,
        lines.customer_id,
        lines.period,
        subscription_periods.active_from as usage_date,
        lines.subscription_id,
        lines.plan_code,
        lines.plan_version,
        lines.meter_code,
        lines.charge_index,
        lines.price_index,
        lines.aggregation,
        lines.charge_model,
        lines.price_per,
        cast(0 as decimal(38, 9)) as sum_quantity,
        cast(0 as decimal(38, 9)) as max_quantity,
        cast(0 as decimal(38, 9)) as latest_quantity,
        {{ empty_text_array() }} as unique_values

    from lines
    inner join subscription_periods
        on
            lines.subscription_id = subscription_periods.subscription_id
            and lines.period = subscription_periods.period
    where not exists (
        select 1 as is_match
        from line_days
        where
            line_days.line_key = lines.line_key
            and line_days.period = lines.period
            and line_days.usage_date <= subscription_periods.active_from
    )

),

all_line_days as (

    select * from line_days

    union all

    select * from line_starts

),

-- count_unique: a value counts from the first day it is seen in the period
unique_values as (

    select
        line_key,
        period,
        {{ array_unnested('unique_values') }} as unique_value,
        usage_date

    from all_line_days
    where aggregation = 'count_unique'

),

unique_first_days as (

    select
        line_key,
        period,
        first_date as usage_date,
        count(*) as new_values

    from (
        select
            line_key,
            period,
            unique_value,
            min(usage_date) as first_date
        from unique_values
        group by line_key, period, unique_value
    ) as firsts
    group by line_key, period, first_date

),

to_date as (

    select
        all_line_days.*,
        cast(
            case all_line_days.aggregation
                when 'max' then max(all_line_days.max_quantity) over line_window
                when 'latest' then all_line_days.latest_quantity
                when 'count_unique'
                    then coalesce(sum(unique_first_days.new_values) over line_window, 0)
                else sum(all_line_days.sum_quantity) over line_window
            end
            as decimal(38, 9)
        ) as quantity_to_date

    from all_line_days
    left join unique_first_days
        on
            all_line_days.line_key = unique_first_days.line_key
            and all_line_days.period = unique_first_days.period
            and all_line_days.usage_date = unique_first_days.usage_date
    window line_window as (
        partition by all_line_days.line_key, all_line_days.period
        order by all_line_days.usage_date
        rows between unbounded preceding and current row
    )

),

to_date_prices as (

    select
        to_date.*,
        prices.unit_price,
        prices.free_units,
        prices.package_size,
        prices.package_price

    from to_date
    inner join prices
        on
            to_date.plan_code = prices.plan_code
            and to_date.plan_version = prices.plan_version
            and to_date.charge_index = prices.charge_index
            and to_date.price_index = prices.price_index

),

amounts as (

    {{ usage_line_amounts(
        'to_date_prices', 'quantity_to_date', ['line_key', 'period', 'usage_date']
    ) }}

),

rounded as (

    select
        amounts.*,
        -- to the invoice currency's minor unit, as the invoice line; a credit-priced line
        -- (credit plans) is 0 money, as its invoice line (its overage is not spread over days)
        case
            when credit_charges.charge_index is not null then cast(0 as decimal(38, 2))
            else {{ round_money(
                'amounts.amount_unrounded', 'coalesce(customers.currency_minor_units, 2)'
            ) }}
        end as amount_to_date

    from amounts
    left join customers
        on amounts.customer_id = customers.customer_id
    left join credit_charges
        on
            amounts.plan_code = credit_charges.plan_code
            and amounts.plan_version = credit_charges.plan_version
            and amounts.charge_index = credit_charges.charge_index

),

final as (

    select
        line_key || ':' || period || ':' || cast(usage_date as {{ text_type() }}) as line_day_id,
        line_key,
        customer_id || ':' || period as invoice_id,
        customer_id,
        period,
        usage_date,
        subscription_id,
        plan_code,
        plan_version,
        meter_code,
        charge_index,
        price_index,
        charge_model,
        aggregation,
        quantity_to_date,
        billable_quantity as billable_quantity_to_date,
        amount_to_date,
        cast(
            amount_to_date - coalesce(
                lag(amount_to_date) over (
                    partition by line_key, period order by usage_date
                ),
                0
            )
            as decimal(38, 2)
        ) as amount

    from rounded

)

select * from final
