-- Credit plans (issue 22): margin per credit, per customer x billing period of a credit plan
-- customer (fct_credit_periods). COGS of the credit-priced usage = the COGS of
-- fct_customer_margin_breakdown on the (provider, model, feature) keys that the customer's
-- credit-priced usage rows carry in the period (keys normalised as the margin breakdown's:
-- provider lower-cased, model = cost_model_key, feature as metered, '(none)' when absent).
-- Revenue of the credits = the fees of the period's credit-plan subscriptions + the overage
-- billed + the money value of the pack credits drawn (each pack's price per credit). Per credit
-- consumed: revenue, COGS and margin (DECIMAL(38,12); NULL when no credit was consumed).
with

credit_periods as (

    select * from {{ ref('fct_credit_periods') }}

),

breakdown as (

    select * from {{ ref('fct_customer_margin_breakdown') }}

),

priced as (

    select * from {{ ref('int_billing_usage_priced') }}
    where unpriced_reason is null

),

charges as (

    select * from {{ ref('stg_reference__plan_charges') }}
    where price_unit = 'credits'

),

subscription_periods as (

    select * from {{ ref('int_billing_subscription_periods') }}

),

plan_credits as (

    select * from {{ ref('stg_reference__plan_credits') }}

),

credit_keys as (

    select distinct
        priced.customer_id,
        priced.period,
        coalesce(nullif(lower(trim(priced.provider)), ''), '(none)') as provider,
        coalesce({{ cost_model_key('priced.model') }}, '(none)') as model,
        coalesce(priced.feature, '(none)') as feature

    from priced
    inner join charges
        on
            priced.plan_code = charges.plan_code
            and priced.plan_version = charges.plan_version
            and priced.charge_index = charges.charge_index

),

credit_cogs as (

    select
        breakdown.customer_id,
        breakdown.period,
        cast(sum(breakdown.cogs_total) as decimal(38, 2)) as cogs_total

    from breakdown
    inner join credit_keys
        on
            breakdown.customer_id = credit_keys.customer_id
            and breakdown.period = credit_keys.period
            and breakdown.provider = credit_keys.provider
            and breakdown.model = credit_keys.model
            and breakdown.feature = credit_keys.feature
    group by breakdown.customer_id, breakdown.period

),

credit_fees as (

    select
        subscription_periods.invoice_id,
        cast(sum(subscription_periods.fee_amount) as decimal(38, 2)) as fees

    from subscription_periods
    inner join plan_credits
        on
            subscription_periods.plan_code = plan_credits.plan_code
            and subscription_periods.plan_version = plan_credits.plan_version
    group by subscription_periods.invoice_id

),

totals as (

    select
        credit_periods.invoice_id,
        credit_periods.customer_id,
        credit_periods.period,
        credit_periods.currency,
        credit_periods.credits_consumed,
        coalesce(credit_fees.fees, 0) as credit_plan_fees,
        credit_periods.overage_amount,
        {{ round_money('credit_periods.packs_drawn_value') }} as packs_drawn_value,
        cast(
            coalesce(credit_fees.fees, 0) + credit_periods.overage_amount
            + {{ round_money('credit_periods.packs_drawn_value') }}
            as decimal(38, 2)
        ) as credit_revenue,
        credit_cogs.cogs_total as credit_cogs

    from credit_periods
    left join credit_fees
        on credit_periods.invoice_id = credit_fees.invoice_id
    left join credit_cogs
        on
            credit_periods.customer_id = credit_cogs.customer_id
            and credit_periods.period = credit_cogs.period

),

final as (

    select
        totals.invoice_id,
        totals.customer_id,
        totals.period,
        totals.currency,
        totals.credits_consumed,
        totals.credit_plan_fees,
        totals.overage_amount,
        totals.packs_drawn_value,
        totals.credit_revenue,
        coalesce(totals.credit_cogs, cast(0 as decimal(38, 2))) as credit_cogs,
        cast(
            totals.credit_revenue - coalesce(totals.credit_cogs, 0) as decimal(38, 2)
        ) as credit_gross_margin,
        {{ safe_divide('totals.credit_revenue', 'totals.credits_consumed') }}
            as revenue_per_credit,
        {{ safe_divide('coalesce(totals.credit_cogs, 0)', 'totals.credits_consumed') }}
            as cogs_per_credit,
        {{ safe_divide(
            'totals.credit_revenue - coalesce(totals.credit_cogs, 0)', 'totals.credits_consumed'
        ) }} as margin_per_credit

    from totals

)

select * from final
