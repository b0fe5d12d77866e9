-- What each customer has been charged, day by day (customer time zone), through the as-of day:
-- subscription fees accrued by active day, usage (the increase of the period-to-date rated
-- lines, int_controls_usage_lines_to_date) and the contract discount on the usage to date.
-- Every component is a period-to-date amount rounded exactly as its invoice line is, and the day
-- figure is its increase over the day before, so the days of a period add up to the invoice's
-- fees + usage + discount. Minimum-commitment, adjustment, credit and tax lines are not spend.
-- A period whose invoice is issued (closed) runs through its last day whatever the as-of day,
-- so that the controls of a closed month describe the whole month the invoice billed.
-- Accounts (issue 22): a child billed to its parent keeps its own days (its fees and usage); the
-- parent's contract discount is on the whole account's usage to date and sits on the parent's
-- days, so the days of an account (parent + billed children) add up to the parent's invoice.
with

periods as (

    select * from {{ ref('int_billing_periods') }}

),

subscription_periods as (

    select * from {{ ref('int_billing_subscription_periods') }}

),

usage_lines as (

    select * from {{ ref('int_controls_usage_lines_to_date') }}

),

contracts as (

    select * from {{ ref('stg_reference__contracts') }}

),

as_of as (

    select * from {{ ref('int_controls_as_of_dates') }}

),

issued as (

    select distinct
        customer_id,
        period
    from {{ ref('stg_ledger__issued_invoices') }}

),

spine as (

    select
        periods.customer_id,
        periods.period,
        periods.period_start,
        periods.period_end,
        periods.days_in_period,
        periods.currency_minor_units,
        periods.billing_customer_id,
        periods.is_billing_account,
        as_of.as_of_date,
        {%- set series_end -%}
                case
                    when issued.period is not null then periods.period_end
                    else least(periods.period_end, cast({{ dbt.dateadd('day', 1, 'as_of.as_of_date') }} as date))
                end
        {%- endset %}
        {{ day_series('periods.period_start', series_end) }} as spend_date

    from periods
    inner join as_of
        on periods.customer_id = as_of.customer_id
    left join issued
        on
            periods.billing_customer_id = issued.customer_id
            and periods.period = issued.period
    where periods.period_start <= as_of.as_of_date or issued.period is not null

),

-- fee accrued to date per subscription: the prorated fee of the active days so far, rounded
fees_to_date as (

    select
        spine.customer_id,
        spine.spend_date,
        sum(
            {{ round_money(prorated_fee(
                'coalesce(subscription_periods.fee, 0)',
                "greatest(" ~ dbt.datediff('subscription_periods.active_from', "least(cast(" ~ dbt.dateadd('day', 1, 'spine.spend_date') ~ " as date), subscription_periods.active_to)", 'day') ~ ", 0)",
                'subscription_periods.days_in_period'
            ), currency_minor_units('subscription_periods.plan_currency')) }}
        ) as fees_to_date

    from spine
    inner join subscription_periods
        on
            spine.customer_id = subscription_periods.customer_id
            and spine.period = subscription_periods.period
    group by spine.customer_id, spine.spend_date

),

usage_days as (

    select
        customer_id,
        usage_date as spend_date,
        sum(amount) as usage_amount,
        sum(amount) filter (where aggregation in ('sum', 'count')) as additive_usage_amount

    from usage_lines
    group by customer_id, usage_date

),

account_members as (

    select distinct
        customer_id,
        billing_customer_id
    from periods

),

-- the usage of the whole account (the customer and the children billed to it) per day
account_usage_days as (

    select
        account_members.billing_customer_id,
        usage_days.spend_date,
        sum(usage_days.usage_amount) as usage_amount

    from usage_days
    inner join account_members
        on usage_days.customer_id = account_members.customer_id
    group by account_members.billing_customer_id, usage_days.spend_date

),

-- the contract whose term overlaps the period gives its usage discount (latest start first)
period_discounts as (

    select
        periods.customer_id,
        periods.period,
        contracts.usage_discount_pct

    from periods
    inner join contracts
        on
            periods.customer_id = contracts.customer_id
            and periods.is_billing_account
            and periods.period_end > contracts.start_date
            and (contracts.end_date is null or periods.period_start < contracts.end_date)
    qualify row_number() over (
        partition by periods.customer_id, periods.period
        order by contracts.start_date desc, contracts.contract_id asc
    ) = 1

),

usage_to_date as (

    select
        spine.*,
        coalesce(usage_days.usage_amount, 0) as usage_amount,
        coalesce(usage_days.additive_usage_amount, 0) as additive_usage_amount,
        sum(coalesce(usage_days.usage_amount, 0)) over (
            partition by spine.customer_id, spine.period
            order by spine.spend_date
            rows between unbounded preceding and current row
        ) as usage_to_date,
        sum(coalesce(account_usage_days.usage_amount, 0)) over (
            partition by spine.customer_id, spine.period
            order by spine.spend_date
            rows between unbounded preceding and current row
        ) as account_usage_to_date,
        coalesce(fees_to_date.fees_to_date, 0) as fees_to_date,
        coalesce(period_discounts.usage_discount_pct, 0) as usage_discount_pct

    from spine
    left join usage_days
        on
            spine.customer_id = usage_days.customer_id
            and spine.spend_date = usage_days.spend_date
    left join account_usage_days
        on
            spine.customer_id = account_usage_days.billing_customer_id
            and spine.spend_date = account_usage_days.spend_date
    left join fees_to_date
        on
            spine.customer_id = fees_to_date.customer_id
            and spine.spend_date = fees_to_date.spend_date
    left join period_discounts
        on
            spine.customer_id = period_discounts.customer_id
            and spine.period = period_discounts.period

),

to_date as (

    select
        *,
        -{{ round_money(
            safe_divide('usage_discount_pct * account_usage_to_date', 100),
            'currency_minor_units'
        ) }}
            as discount_to_date

    from usage_to_date

),

final as (

    select
        customer_id || ':' || cast(spend_date as {{ text_type() }}) as daily_spend_id,
        customer_id,
        spend_date,
        period,
        period_start,
        period_end,
        days_in_period,
        as_of_date,
        cast(
            fees_to_date - coalesce(lag(fees_to_date) over period_days, 0) as decimal(38, 2)
        ) as fees,
        cast(usage_amount as decimal(38, 2)) as usage_spend,
        cast(additive_usage_amount as decimal(38, 2)) as additive_usage_spend,
        cast(
            discount_to_date - coalesce(lag(discount_to_date) over period_days, 0)
            as decimal(38, 2)
        ) as discount,
        cast(
            (fees_to_date + usage_to_date + discount_to_date)
            - coalesce(
                lag(fees_to_date + usage_to_date + discount_to_date) over period_days, 0
            )
            as decimal(38, 2)
        ) as spend,
        cast(fees_to_date as decimal(38, 2)) as fees_to_date,
        cast(usage_to_date as decimal(38, 2)) as usage_to_date,
        cast(discount_to_date as decimal(38, 2)) as discount_to_date,
        cast(fees_to_date + usage_to_date + discount_to_date as decimal(38, 2))
            as spend_to_date

    from to_date
    window period_days as (
        partition by customer_id, period order by spend_date
    )

)

select * from final
