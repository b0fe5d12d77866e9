-- Credit plans (issue 22): the credit units each source pays, per customer x period, period
-- after period. Sources of a customer: the plan (draw_rank 0: the credits rolled over from the
-- previous period, then this period's allowance) and the credit packs (credit_grants.csv rows
-- with unit credits), ranked by earliest expires_at (none last), earliest granted_at, grant_id.
-- A pack is usable in a period when granted before the period ends and not expired at its end
-- (the rule of money grants). The demand of a period is the credits of its credit-priced usage
-- lines (int_billing_usage_rated.credits); sources are drawn in rank order until it is met, the
-- rest is overage (int_billing_credit_periods). The plan source carries into the next period
-- at most the rollover cap of the period's plan (0 = reset); what is above is forfeited.
-- The allowance is prorated by active days like the fee (round_credits of allowance x active
-- days / days in the period), summed over the period's credit-plan subscriptions; cap: the
-- largest of them; a period without a credit plan has allowance 0 and cap 0.
-- Each period depends on the previous one's balances: a recursive CTE (DuckDB), unrolled over
-- the period indexes on Spark (as int_billing_credit_burns).
with {{ 'recursive' if credit_burns_recursive() }}

periods as (

    select * from {{ ref('int_billing_periods') }}

),

subscription_periods as (

    select * from {{ ref('int_billing_subscription_periods') }}

),

plan_credits as (

    select * from {{ ref('stg_reference__plan_credits') }}

),

packs as (

    select * from {{ ref('stg_reference__credit_grants') }}
    where unit = 'credits'

),

credit_lines as (

    select * from {{ ref('int_billing_usage_rated') }}
    where price_unit = 'credits'

),

period_terms as (

    select
        subscription_periods.invoice_id,
        cast(sum({{ round_credits(safe_divide(
            'plan_credits.allowance * subscription_periods.active_days',
            'subscription_periods.days_in_period'
        )) }}) as decimal(38, 6)) as allowance,
        max(plan_credits.rollover_cap) as rollover_cap,
        {{ arg_max_by(
            'plan_credits.overage_rate',
            ['subscription_periods.active_from', 'subscription_periods.subscription_id']
        ) }} as overage_rate

    from subscription_periods
    inner join plan_credits
        on
            subscription_periods.plan_code = plan_credits.plan_code
            and subscription_periods.plan_version = plan_credits.plan_version
    group by subscription_periods.invoice_id

),

demand as (

    select
        invoice_id,
        cast(sum(credits) as decimal(38, 6)) as credit_demand

    from credit_lines
    group by invoice_id

),

credit_customers as (

    select periods.customer_id
    from periods
    inner join period_terms
        on periods.invoice_id = period_terms.invoice_id

    union

    select customer_id from packs

),

period_inputs as (

    select
        periods.customer_id,
        periods.period_index,
        periods.invoice_id,
        periods.period,
        cast(periods.period_end as timestamp) as period_end_at,
        coalesce(period_terms.allowance, cast(0 as decimal(38, 6))) as allowance,
        coalesce(period_terms.rollover_cap, cast(0 as decimal(38, 6))) as rollover_cap,
        coalesce(demand.credit_demand, cast(0 as decimal(38, 6))) as credit_demand,
        period_terms.overage_rate

    from periods
    inner join credit_customers
        on periods.customer_id = credit_customers.customer_id
    left join period_terms
        on periods.invoice_id = period_terms.invoice_id
    left join demand
        on periods.invoice_id = demand.invoice_id

),

sources as (

    select
        customer_id,
        '(plan)' as source_id,
        0 as draw_rank,
        cast(null as timestamp) as granted_at,
        cast(null as timestamp) as expires_at,
        cast(0 as decimal(38, 6)) as amount

    from credit_customers

    union all

    select
        customer_id,
        grant_id as source_id,
        row_number() over (
            partition by customer_id
            order by expires_at asc nulls last, granted_at asc, grant_id asc
        ) as draw_rank,
        granted_at,
        expires_at,
        {{ round_credits('amount') }} as amount

    from packs

),

source_periods as (

    select
        period_inputs.customer_id,
        period_inputs.period_index,
        period_inputs.invoice_id,
        period_inputs.period,
        sources.source_id,
        sources.draw_rank,
        sources.draw_rank = 0
        or (
            sources.granted_at < period_inputs.period_end_at
            and (sources.expires_at is null or sources.expires_at >= period_inputs.period_end_at)
        ) as is_usable,
        case
            when sources.draw_rank = 0 then period_inputs.allowance
            else cast(0 as decimal(38, 6))
        end as allowance,
        period_inputs.rollover_cap,
        period_inputs.credit_demand,
        period_inputs.overage_rate

    from period_inputs
    inner join sources
        on period_inputs.customer_id = sources.customer_id

),

{%- if credit_burns_recursive() %}

    draws (
        customer_id, period_index, source_id, draw_rank, balance_before, drawn, balance_after,
        carry_out
    ) as (

        select
            customer_id,
            0,
            source_id,
            draw_rank,
            amount as balance_before,
            cast(0 as decimal(38, 6)) as drawn,
            amount as balance_after,
            amount as carry_out

        from sources

        union all

        {{ credit_draw_step('draws') }}

    ),
{%- else %}
-- Spark: no window over a recursive reference; the recursion unrolled, one CTE per period index
{%- set max_index = credit_recursion_depth() %}
draws_0 (
    customer_id, period_index, source_id, draw_rank, balance_before, drawn, balance_after,
    carry_out
) as (

    select
        customer_id,
        0,
        source_id,
        draw_rank,
        amount as balance_before,
        cast(0 as decimal(38, 6)) as drawn,
        amount as balance_after,
        amount as carry_out

    from sources

),
{%- for i in integers_between(1, max_index) %}

draws_{{ i }} (
    customer_id, period_index, source_id, draw_rank, balance_before, drawn, balance_after,
    carry_out
) as (

    {{ credit_draw_step('draws_' ~ (i - 1)) }}

),
{%- endfor %}

draws as (
    {%- for i in integers_between(0, max_index) %}
    select * from draws_{{ i }}{{ " union all" if not loop.last }}
    {%- endfor %}
),
{%- endif %}

final as (

    select
        source_periods.invoice_id,
        source_periods.customer_id,
        source_periods.period,
        draws.period_index,
        draws.source_id,
        case when draws.draw_rank = 0 then 'plan' else 'pack' end as source_kind,
        draws.draw_rank,
        source_periods.is_usable,
        source_periods.allowance,
        cast(draws.balance_before - source_periods.allowance as decimal(38, 6)) as carried_in,
        draws.balance_before,
        draws.drawn,
        draws.balance_after,
        draws.carry_out,
        source_periods.rollover_cap,
        source_periods.credit_demand,
        source_periods.overage_rate

    from draws
    inner join source_periods
        on
            draws.customer_id = source_periods.customer_id
            and draws.source_id = source_periods.source_id
            and draws.period_index = source_periods.period_index
    where draws.period_index > 0

)

select * from final
