-- Credit plans (issue 22), the period summary: one row per customer x billing period of a
-- customer with a credit plan or a credit pack, in credit units (DECIMAL(38,6)) with the money
-- beside them: credits granted (allowance, rolled over in, packs), consumed, drawn (rolled-over
-- first, then the allowance, then packs), overage (credits and the money billed for them),
-- carried out, forfeited above the rollover cap, expired (packs) and remaining.
with

credit_periods as (

    select * from {{ ref('int_billing_credit_periods') }}

),

periods as (

    select * from {{ ref('int_billing_periods') }}

),

final as (

    select
        credit_periods.invoice_id,
        credit_periods.customer_id,
        credit_periods.period,
        periods.period_start,
        periods.period_end,
        case when periods.is_issued then 'issued' else 'draft' end as status,
        credit_periods.allowance_granted,
        credit_periods.rollover_in,
        credit_periods.packs_granted,
        credit_periods.credits_consumed,
        credit_periods.drawn_rollover,
        credit_periods.drawn_allowance,
        credit_periods.drawn_packs,
        credit_periods.overage_credits,
        credit_periods.rollover_out,
        credit_periods.forfeited,
        credit_periods.packs_expired,
        credit_periods.packs_remaining,
        credit_periods.credits_remaining,
        credit_periods.overage_rate,
        credit_periods.overage_amount,
        credit_periods.packs_price_paid,
        credit_periods.packs_drawn_value,
        credit_periods.currency

    from credit_periods
    inner join periods
        on credit_periods.invoice_id = periods.invoice_id

)

select * from final
