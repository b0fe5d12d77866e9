-- Each subscription x billing period it is active in: active days (customer time zone, start
-- day included, end exclusive), the plan version pricing the period (the version in effect at
-- the period's start; for a plan whose first version starts later in the period, the version in
-- effect on the subscription's first active day), and the prorated recurring fee. A subscription
-- that pins a plan version (subscriptions.csv plan_version, grandfathering) is priced by that
-- version in every period, whatever version is in effect.
with

periods as (

    select * from {{ ref('int_billing_periods') }}

),

subscriptions as (

    select * from {{ ref('stg_reference__subscriptions') }}

),

plans as (

    select * from {{ ref('stg_reference__plans') }}

),

active as (

    select
        subscriptions.subscription_id,
        subscriptions.customer_id,
        subscriptions.plan_code,
        subscriptions.plan_version as pinned_version,
        periods.invoice_id,
        periods.period,
        periods.period_start,
        periods.period_end,
        periods.days_in_period,
        greatest(subscriptions.start_date, periods.period_start) as active_from,
        least(coalesce(subscriptions.end_date, periods.period_end), periods.period_end)
            as active_to

    from subscriptions
    inner join periods
        on
            subscriptions.customer_id = periods.customer_id
            and subscriptions.start_date < periods.period_end
            and coalesce(subscriptions.end_date, periods.period_end) > periods.period_start

),

versioned as (

    select
        active.*,
        active.pinned_version is not null as is_version_pinned,
        plans.plan_version,
        plans.plan_name,
        plans.currency as plan_currency,
        plans.fee

    from active
    left join plans
        on
            active.plan_code = plans.plan_code
            and (
                plans.plan_version = active.pinned_version
                or (active.pinned_version is null and plans.effective_from <= active.active_from)
            )
    qualify row_number() over (
        partition by active.subscription_id, active.period
        order by
            (plans.effective_from <= active.period_start) desc nulls last,
            plans.effective_from desc nulls last,
            plans.plan_version desc nulls last
    ) = 1

),

final as (

    select
        subscription_id,
        customer_id,
        invoice_id,
        period,
        period_start,
        period_end,
        plan_code,
        plan_version,
        is_version_pinned,
        plan_name,
        plan_currency,
        active_from,
        active_to,
        {{ dbt.datediff('active_from', 'active_to', 'day') }} as active_days,
        days_in_period,
        fee,
        {{ prorated_fee('fee', dbt.datediff('active_from', 'active_to', 'day'), 'days_in_period') }}
            as fee_amount_unrounded,
        -- rounded to the minor unit of the plan's currency (= the customer's, checked on load)
        {{ round_money(
            prorated_fee('fee', dbt.datediff('active_from', 'active_to', 'day'), 'days_in_period'),
            currency_minor_units('plan_currency')
        ) }} as fee_amount

    from versioned

)

select * from final
