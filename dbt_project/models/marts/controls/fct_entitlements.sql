-- What the API gateway enforces: one row per customer x meter of the plan version the customer is
-- on at its as-of day (int_controls_as_of_dates), in the billing period of that day.
--   included_units  free units of the meter's price rows in that plan version (0 = none)
--   used_units      the meter's period-to-date quantity through the as-of day, over its lines
--   remaining_units included units not yet used; free units are per price row, so usage of one
--                   row (e.g. gpt-4o) never uses up another's
-- state: `limited` when the customer has a hard-limit budget (budgets.csv hard_limit) and its
-- spend to date went above the monthly budget in the period: from that day on (limited_since,
-- the day the spend crossed), every meter of the customer; `warning` when the spend to date
-- reached entitlement_warning_pct% of the monthly budget, or the meter's used units reached
-- entitlement_warning_pct% of its included units; else `ok`. Spend = fees + usage after
-- discount rated to date (fct_customer_daily_spend), as the spend alerts use.
{%- set warn_pct = var('entitlement_warning_pct') %}
-- Accounts (issue 22): a parent's hard-limit budget is on the account's spend (its children
-- billed to it included), int_controls_account_daily_spend.
with

as_of as (

    select * from {{ ref('int_controls_as_of_dates') }}

),

subscription_periods as (

    select * from {{ ref('int_billing_subscription_periods') }}

),

charges as (

    select * from {{ ref('stg_reference__plan_charges') }}

),

prices as (

    select * from {{ ref('stg_reference__plan_prices') }}

),

meters as (

    select * from {{ ref('stg_reference__meters') }}

),

lines_to_date as (

    select * from {{ ref('int_controls_usage_lines_to_date') }}

),

daily as (

    select * from {{ ref('int_controls_account_daily_spend') }}

),

budgets as (

    select * from {{ ref('stg_reference__budgets') }}

),

-- the subscription active on the customer's as-of day
current_subscriptions as (

    select
        subscription_periods.customer_id,
        subscription_periods.subscription_id,
        subscription_periods.period,
        subscription_periods.plan_code,
        subscription_periods.plan_version,
        as_of.as_of_date

    from subscription_periods
    inner join as_of
        on
            subscription_periods.customer_id = as_of.customer_id
            and subscription_periods.active_from <= as_of.as_of_date
            and subscription_periods.active_to > as_of.as_of_date

),

plan_meters as (

    select
        current_subscriptions.customer_id,
        current_subscriptions.subscription_id,
        current_subscriptions.period,
        current_subscriptions.plan_code,
        current_subscriptions.plan_version,
        current_subscriptions.as_of_date,
        charges.meter_code,
        sum(prices.free_units) as included_units

    from current_subscriptions
    inner join charges
        on
            current_subscriptions.plan_code = charges.plan_code
            and current_subscriptions.plan_version = charges.plan_version
    inner join prices
        on
            charges.plan_code = prices.plan_code
            and charges.plan_version = prices.plan_version
            and charges.charge_index = prices.charge_index
    group by
        current_subscriptions.customer_id,
        current_subscriptions.subscription_id,
        current_subscriptions.period,
        current_subscriptions.plan_code,
        current_subscriptions.plan_version,
        current_subscriptions.as_of_date,
        charges.meter_code

),

-- each usage line of the current subscription and period at its last day through the as-of day
lines_as_of as (

    select
        lines_to_date.customer_id,
        lines_to_date.meter_code,
        lines_to_date.quantity_to_date,
        prices.free_units

    from lines_to_date
    inner join current_subscriptions
        on
            lines_to_date.subscription_id = current_subscriptions.subscription_id
            and lines_to_date.period = current_subscriptions.period
            and lines_to_date.usage_date <= current_subscriptions.as_of_date
    inner join prices
        on
            lines_to_date.plan_code = prices.plan_code
            and lines_to_date.plan_version = prices.plan_version
            and lines_to_date.charge_index = prices.charge_index
            and lines_to_date.price_index = prices.price_index
    qualify row_number() over (
        partition by lines_to_date.line_key, lines_to_date.period
        order by lines_to_date.usage_date desc
    ) = 1

),

used as (

    select
        customer_id,
        meter_code,
        sum(quantity_to_date) as used_units,
        sum(
            case when free_units > 0 then least(quantity_to_date, free_units) else 0 end
        ) as included_used

    from lines_as_of
    group by customer_id, meter_code

),

spend as (

    select
        daily.customer_id,
        daily.currency,
        daily.spend_to_date

    from daily
    inner join as_of
        on
            daily.customer_id = as_of.customer_id
            and daily.spend_date = as_of.as_of_date

),

-- the first day of the as-of period on which a hard-limit customer's spend went above its budget
limits as (

    select
        daily.customer_id,
        min(daily.spend_date) as limited_since

    from daily
    inner join current_subscriptions
        on
            daily.customer_id = current_subscriptions.customer_id
            and daily.period = current_subscriptions.period
            and daily.spend_date <= current_subscriptions.as_of_date
    inner join budgets
        on
            daily.customer_id = budgets.customer_id
            and budgets.hard_limit
            and budgets.monthly_budget is not null
    where daily.spend_to_date > budgets.monthly_budget
    group by daily.customer_id

),

joined as (

    select
        plan_meters.customer_id,
        plan_meters.meter_code,
        meters.meter_name,
        meters.unit,
        plan_meters.as_of_date,
        plan_meters.period,
        plan_meters.subscription_id,
        plan_meters.plan_code,
        plan_meters.plan_version,
        cast(plan_meters.included_units as decimal(38, 9)) as included_units,
        cast(coalesce(used.used_units, 0) as decimal(38, 9)) as used_units,
        cast(
            plan_meters.included_units - coalesce(used.included_used, 0) as decimal(38, 9)
        ) as remaining_units,
        spend.currency,
        cast(budgets.monthly_budget as decimal(38, 2)) as monthly_budget,
        cast(spend.spend_to_date as decimal(38, 2)) as spend_to_date,
        limits.limited_since,
        coalesce(budgets.hard_limit, false) as hard_limit,
        coalesce(
            budgets.monthly_budget is not null
            and spend.spend_to_date * 100 >= budgets.monthly_budget * {{ warn_pct }},
            false
        ) as budget_warning,
        plan_meters.included_units > 0
        and coalesce(used.used_units, 0) * 100 >= plan_meters.included_units * {{ warn_pct }}
            as included_warning

    from plan_meters
    inner join meters
        on plan_meters.meter_code = meters.meter_code
    left join used
        on
            plan_meters.customer_id = used.customer_id
            and plan_meters.meter_code = used.meter_code
    left join spend
        on plan_meters.customer_id = spend.customer_id
    left join budgets
        on plan_meters.customer_id = budgets.customer_id
    left join limits
        on plan_meters.customer_id = limits.customer_id

),

final as (

    select
        customer_id || ':' || meter_code as entitlement_id,
        customer_id,
        meter_code,
        meter_name,
        unit,
        as_of_date,
        period,
        subscription_id,
        plan_code,
        plan_version,
        included_units,
        used_units,
        remaining_units,
        currency,
        monthly_budget,
        hard_limit,
        spend_to_date,
        case
            when limited_since is not null then 'limited'
            when budget_warning or included_warning then 'warning'
            else 'ok'
        end as state,
        case
            when limited_since is not null
                then
                    'hard limit: spend to date ' || cast(spend_to_date as {{ text_type() }})
                    || ' above the monthly budget ' || cast(monthly_budget as {{ text_type() }})
                    || ' since ' || cast(limited_since as {{ text_type() }})
            when budget_warning
                then
                    'spend to date ' || cast(spend_to_date as {{ text_type() }}) || ' is at least '
                    || '{{ warn_pct }}% of the monthly budget '
                    || cast(monthly_budget as {{ text_type() }})
            when included_warning
                then
                    'used ' || {{ format_quantity('used_units') }} || ' of '
                    || {{ format_quantity('included_units') }} || ' included units'
            else ''
        end as state_reason,
        limited_since

    from joined

)

select * from final
