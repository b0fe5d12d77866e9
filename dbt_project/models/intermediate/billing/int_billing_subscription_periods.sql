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
                active.pinned_version = plans.plan_version
                or (active.pinned_version is null and active.active_from >= plans.effective_from)
            )
    qualify row_number() over (
        partition by active.subscription_id, active.period
        order by
            (plans.effective_from <= active.period_start) desc nulls last,
            plans.effective_from desc nulls last,
            plans.plan_version desc nulls last
    ) = 1

),

{%- set active_days = dbt.datediff('versioned.active_from', 'versioned.active_to', 'day') %}
{%- set fee_unrounded = prorated_fee('versioned.fee', active_days, 'versioned.days_in_period') %}

final as (

    select
        versioned.subscription_id,
        versioned.customer_id,
        versioned.invoice_id,
        versioned.period,
        versioned.period_start,
        versioned.period_end,
        versioned.plan_code,
        versioned.plan_version,
        versioned.is_version_pinned,
        versioned.plan_name,
        versioned.plan_currency,
        versioned.active_from,
        versioned.active_to,
        {{ active_days }} as active_days,
        versioned.days_in_period,
        versioned.fee,
        {{ fee_unrounded }} as fee_amount_unrounded,
        -- rounded to the minor unit of the plan's currency (= the customer's, checked on load)
        {{ round_money(fee_unrounded, currency_minor_units('versioned.plan_currency')) }}
            as fee_amount

    from versioned

)

select * from final
