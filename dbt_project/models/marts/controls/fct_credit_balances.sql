-- Credit balances: one row per credit grant x local day, from the day it is granted through the
-- as-of day. The balance is the ledger's (fct_credit_ledger entries dated on or before the day:
-- grants, burns at each invoice period's end, expiries), so a period's burn shows on the first
-- day of the next period.
-- The as-of row (is_as_of) also carries the projection. Spend of the open period not yet burned
-- in the ledger (its spend to the as-of day) is charged against the grants in burn order
-- (priority, earliest expiry, earliest grant, grant id) as `pending_burn`; what is left is then
-- drawn down day by day at the customer's burn rate (spend of the last credit_burn_rate_days days,
-- per day), grant after grant in burn order, never on or after a grant's expiry day. This smooths
-- the monthly invoice burns into a daily draw and ignores minimum-commitment top-ups.
{%- set rate_days = var('credit_burn_rate_days') | int %}
{%- set horizon_days = var('credit_expiry_horizon_days') | int %}
with

grants as (

    select * from {{ ref('int_billing_credit_grants') }}

),

ledger as (

    select * from {{ ref('fct_credit_ledger') }}
    -- money grants only: credit-plan entries (unit credits) are credit units
    where unit = 'money'

),

daily as (

    select * from {{ ref('fct_customer_daily_spend') }}

),

as_of as (

    select * from {{ ref('int_controls_as_of_dates') }}

),

spine as (

    select
        grants.grant_id,
        grants.customer_id,
        grants.kind,
        grants.priority,
        grants.granted_at,
        grants.expires_at,
        as_of.as_of_date,
        {{ day_series(
            'cast(grants.granted_at as date)',
            'cast(' ~ dbt.dateadd('day', 1, 'as_of.as_of_date') ~ ' as date)'
        ) }} as balance_date

    from grants
    inner join as_of
        on grants.customer_id = as_of.customer_id

),

balances as (

    select
        spine.grant_id,
        spine.balance_date,
        coalesce(sum(ledger.amount) filter (where ledger.entry_type = 'grant'), 0)
            as granted_to_date,
        coalesce(-sum(ledger.amount) filter (where ledger.entry_type = 'burn'), 0)
            as burned_to_date,
        coalesce(-sum(ledger.amount) filter (where ledger.entry_type = 'expiry'), 0)
            as expired_to_date,
        coalesce(sum(ledger.amount), 0) as balance

    from spine
    left join ledger
        on
            spine.grant_id = ledger.grant_id
            and cast(ledger.entry_at as date) <= spine.balance_date
    group by spine.grant_id, spine.balance_date

),

-- spend of the open period (not in the ledger yet) and the trailing burn rate, per customer
customer_rates as (

    select
        daily.customer_id,
        coalesce(sum(daily.spend) filter (where daily.period_end > daily.as_of_date), 0)
            as unbilled_spend,
        coalesce(sum(daily.spend) filter (
            where daily.spend_date
            > cast({{ dbt.dateadd('day', -rate_days, 'daily.as_of_date') }} as date)
        ), 0) as rate_spend,
        count(*) filter (
            where daily.spend_date
            > cast({{ dbt.dateadd('day', -rate_days, 'daily.as_of_date') }} as date)
        ) as rate_days

    from daily
    group by daily.customer_id

),

as_of_balances as (

    select
        spine.grant_id,
        spine.customer_id,
        spine.expires_at,
        spine.as_of_date,
        balances.balance,
        spine.expires_at is not null
        and cast(spine.expires_at as date) <= spine.as_of_date as is_expired,
        row_number() over (
            partition by spine.customer_id
            order by
                spine.priority asc,
                spine.expires_at asc nulls last,
                spine.granted_at asc,
                spine.grant_id asc
        ) as burn_rank

    from spine
    inner join balances
        on
            spine.grant_id = balances.grant_id
            and spine.balance_date = balances.balance_date
    where spine.balance_date = spine.as_of_date

),

pending as (

    select
        as_of_balances.*,
        coalesce(customer_rates.unbilled_spend, 0) as unbilled_spend,
        coalesce(customer_rates.rate_spend, 0) as rate_spend,
        coalesce(customer_rates.rate_days, 0) as rate_days,
        coalesce(
            sum(case when not as_of_balances.is_expired then as_of_balances.balance else 0 end)
                over (
                    partition by as_of_balances.customer_id
                    order by as_of_balances.burn_rank
                    rows between unbounded preceding and 1 preceding
                ), 0
        ) as balance_ahead

    from as_of_balances
    left join customer_rates
        on as_of_balances.customer_id = customer_rates.customer_id

),

available as (

    select
        *,
        case
            when is_expired then cast(0 as decimal(38, 2))
            else cast(least(balance, greatest(unbilled_spend - balance_ahead, 0)) as decimal(38, 2))
        end as pending_burn

    from pending

),

drawn as (

    select
        *,
        cast(balance - pending_burn as decimal(38, 2)) as available_balance,
        sum(case when is_expired then 0 else balance - pending_burn end) over (
            partition by customer_id
            order by burn_rank
            rows between unbounded preceding and current row
        ) as available_through_grant,
        case
            when expires_at is not null
                then
                    greatest(
                        {{ dbt.datediff('as_of_date', 'cast(expires_at as date)', 'day') }} - 1,  -- noqa: LT05
                        0
                    )
        end as drawable_days

    from available

),

projected as (

    select
        *,
        {{ round_money(safe_divide('rate_spend', 'rate_days')) }} as burn_rate_daily,
        case
            when drawn.is_expired or drawn.available_balance <= 0 then null
            when drawn.rate_spend > 0
                then
                    cast(
                        {{ ceil_divide(
                            'available_through_grant * rate_days',
                            'rate_spend'
                        ) }} as integer
                    )
        end as days_to_exhaustion

    from drawn

),

projection as (

    select
        projected.grant_id,
        projected.as_of_date,
        projected.pending_burn,
        projected.available_balance,
        projected.burn_rate_daily,
        projected.burn_rank,
        case
            when projected.is_expired then null
            when
                projected.available_balance <= 0 and projected.balance > 0
                then projected.as_of_date
            when
                projected.days_to_exhaustion is not null
                and (
                    projected.drawable_days is null
                    or projected.days_to_exhaustion <= projected.drawable_days
                )
                then cast({{ dbt.dateadd('day', 'days_to_exhaustion', 'as_of_date') }} as date)
        end as projected_exhaustion_date,
        coalesce(
            not projected.is_expired
            and projected.expires_at is not null
            and cast(projected.expires_at as date)
            <= cast({{ dbt.dateadd('day', horizon_days, 'as_of_date') }} as date),
            false
        ) as expires_within_horizon,
        case
            when projected.is_expired or projected.expires_at is null then null
            else cast(greatest(
                least(
                    projected.available_balance,
                    projected.available_through_grant
                    - coalesce({{ safe_divide('rate_spend * drawable_days', 'rate_days') }}, 0)
                ),
                0
            ) as decimal(38, 2))
        end as projected_unused_at_expiry

    from projected

),

final as (

    select
        spine.grant_id || ':' || cast(spine.balance_date as {{ text_type() }}) as credit_balance_id,
        spine.customer_id,
        spine.grant_id,
        spine.kind,
        spine.priority,
        spine.granted_at,
        spine.expires_at,
        spine.balance_date,
        spine.balance_date = spine.as_of_date as is_as_of,
        cast(balances.granted_to_date as decimal(38, 2)) as granted_to_date,
        cast(balances.burned_to_date as decimal(38, 2)) as burned_to_date,
        cast(balances.expired_to_date as decimal(38, 2)) as expired_to_date,
        cast(balances.balance as decimal(38, 2)) as balance,
        cast(sum(balances.balance) over (
            partition by spine.customer_id, spine.balance_date
        ) as decimal(38, 2)) as customer_balance,
        projection.burn_rank,
        projection.pending_burn,
        projection.available_balance,
        projection.burn_rate_daily,
        projection.projected_exhaustion_date,
        projection.expires_within_horizon,
        projection.projected_unused_at_expiry,
        case
            when projection.expires_within_horizon then projection.projected_unused_at_expiry
        end as expiring_unused_amount

    from spine
    inner join balances
        on
            spine.grant_id = balances.grant_id
            and spine.balance_date = balances.balance_date
    left join projection
        on
            spine.grant_id = projection.grant_id
            and spine.balance_date = projection.as_of_date

)

select * from final
