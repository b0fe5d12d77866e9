-- Credit plans: per customer x period, the credits consumed are drawn (rollover + allowance +
-- packs) or overage, overage is never negative, the plan never draws more than it holds, and
-- what the plan carries out is at most the period's rollover cap. Rows returned are failures.
with

credit_periods as (

    select * from {{ ref('int_billing_credit_periods') }}

),

draws as (

    select * from {{ ref('int_billing_credit_draws') }}

),

period_failures as (

    select credit_periods.invoice_id
    from credit_periods
    where
        credit_periods.overage_credits < 0
        or credit_periods.credits_consumed
        <> credit_periods.drawn_rollover + credit_periods.drawn_allowance
        + credit_periods.drawn_packs + credit_periods.overage_credits

),

draw_failures as (

    select draws.invoice_id
    from draws
    where
        draws.drawn < 0
        or draws.balance_after < 0
        or draws.carry_out > draws.rollover_cap and draws.source_kind = 'plan'

)

select * from period_failures
union all
select * from draw_failures
