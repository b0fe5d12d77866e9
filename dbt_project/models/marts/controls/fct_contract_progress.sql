-- Contract progress: one row per contract x billing period of its term, from the term's first
-- period through the as-of period, each a snapshot at its evaluation day (the period's last day,
-- the as-of day or the term's last day, whichever is first; a closed period is evaluated through
-- its last day, so that its consumption equals what its issued invoice billed).
-- Commitment window: the period (commit_period = month) or the whole term (term). Consumed =
-- eligible spend, fees + usage after discount (PRICING.md's minimum-commitment base), of the
-- window's days so far. Pace: consumed against a straight line from 0 at the window's start to
-- the commitment at its end. Projection: consumed + trailing run-rate (spend of the
-- contract_run_rate_days days to the evaluation day, per day) x days left in the window.
-- Shortfall = commitment - projection when positive (the true-up the customer will owe).
{%- set run_rate_days = var('contract_run_rate_days') | int %}
with

contracts as (

    select * from {{ ref('stg_reference__contracts') }}

),

-- accounts (issue 22): a parent's contract is consumed by the account's spend (its children
-- billed to it included), int_controls_account_daily_spend
daily as (

    select * from {{ ref('int_controls_account_daily_spend') }}

),

-- evaluated_through: the last day of the period with daily spend, the as-of day or, for a
-- closed (issued) period, its last day (int_controls_daily_spend)
periods as (

    select
        customer_id,
        period,
        any_value(period_start) as period_start,
        any_value(period_end) as period_end,
        any_value(as_of_date) as as_of_date,
        any_value(currency) as currency,
        max(spend_date) as evaluated_through
    from daily
    group by customer_id, period

),

contract_periods as (

    select
        contracts.contract_id,
        contracts.customer_id,
        periods.currency,
        contracts.start_date,
        contracts.end_date,
        contracts.commit_amount,
        contracts.commit_period,
        contracts.usage_discount_pct,
        contracts.renewal_notice_days,
        periods.period,
        periods.period_start,
        periods.period_end,
        periods.as_of_date,
        periods.evaluated_through,
        case
            when contracts.commit_period = 'term' then contracts.start_date
            else greatest(contracts.start_date, periods.period_start)
        end as window_start,
        case
            when contracts.commit_period = 'term' then contracts.end_date
            else least(coalesce(contracts.end_date, periods.period_end), periods.period_end)
        end as window_end,
        cast(
            {{ dbt.dateadd(
                'day',
                -1,
                'least(periods.period_end, coalesce(contracts.end_date, periods.period_end))'
            ) }}
            as date
        ) as last_day_in_period

    from contracts
    inner join periods
        on
            contracts.customer_id = periods.customer_id
            and contracts.start_date < periods.period_end
            and (contracts.end_date is null or contracts.end_date > periods.period_start)

),

evaluated as (

    select
        *,
        least(last_day_in_period, evaluated_through) as evaluation_date

    from contract_periods

),

consumption as (

    select
        evaluated.contract_id,
        evaluated.period,
        coalesce(sum(daily.spend) filter (
            where daily.spend_date >= evaluated.window_start
        ), 0) as consumed_to_date,
        coalesce(sum(daily.spend) filter (
            where daily.spend_date >= greatest(evaluated.start_date, evaluated.period_start)
        ), 0) as period_consumed,
        coalesce(sum(daily.spend), 0) as term_consumed_to_date

    from evaluated
    left join daily
        on
            evaluated.customer_id = daily.customer_id
            and evaluated.start_date <= daily.spend_date
            and evaluated.evaluation_date >= daily.spend_date
    group by evaluated.contract_id, evaluated.period

),

-- the trailing run-rate may look before the contract's start: it describes the customer
run_rate as (

    select
        evaluated.contract_id,
        evaluated.period,
        coalesce(sum(daily.spend), 0) as run_rate_spend,
        count(daily.spend_date) as run_rate_days

    from evaluated
    left join daily
        on
            evaluated.customer_id = daily.customer_id
            and evaluated.evaluation_date >= daily.spend_date
            and daily.spend_date
            > cast({{ dbt.dateadd('day', -run_rate_days, 'evaluated.evaluation_date') }} as date)
    group by evaluated.contract_id, evaluated.period

),

measured as (

    select
        evaluated.*,
        {{ dbt.datediff('evaluated.window_start', 'evaluated.window_end', 'day') }}
            as window_days,
        greatest(
            {{ dbt.datediff('evaluated.window_start', 'evaluated.evaluation_date', 'day') }} + 1, 0  -- noqa: LT05
        ) as elapsed_days,
        greatest(
            {{ dbt.datediff(
                "greatest(cast("
                ~ dbt.dateadd('day', 1, 'evaluated.evaluation_date')
                ~ " as date), evaluated.window_start)",
                'evaluated.window_end',
                'day'
            ) }},
            0
        ) as remaining_days,
        cast(consumption.consumed_to_date as decimal(38, 2)) as consumed_to_date,
        cast(consumption.period_consumed as decimal(38, 2)) as period_consumed,
        cast(consumption.term_consumed_to_date as decimal(38, 2)) as term_consumed_to_date,
        cast(run_rate.run_rate_spend as decimal(38, 2)) as run_rate_spend,
        run_rate.run_rate_days

    from evaluated
    inner join consumption
        on
            evaluated.contract_id = consumption.contract_id
            and evaluated.period = consumption.period
    inner join run_rate
        on
            evaluated.contract_id = run_rate.contract_id
            and evaluated.period = run_rate.period

),

projected as (

    select
        *,
        {{ round_money(safe_divide('commit_amount * elapsed_days', 'window_days')) }}
            as straight_line_to_date,
        {{ round_money(safe_divide('run_rate_spend', 'run_rate_days')) }} as run_rate_daily,
        {{ round_money(
            'consumed_to_date + coalesce('
            ~ safe_divide('run_rate_spend * remaining_days', 'run_rate_days') ~ ', 0)'
        ) }} as projected_spend

    from measured

),

final as (

    select
        projected.contract_id || ':' || projected.period as contract_period_id,
        projected.contract_id,
        projected.customer_id,
        projected.currency,
        projected.period,
        projected.period_start,
        projected.period_end,
        projected.start_date as contract_start_date,
        projected.end_date as contract_end_date,
        projected.commit_period,
        projected.usage_discount_pct,
        projected.renewal_notice_days,
        projected.window_start,
        projected.window_end,
        projected.evaluation_date,
        -- the period holding the as-of day (within the term): measured at the as-of day, or
        -- through its last day when the period is closed
        projected.period_start <= projected.as_of_date
        and projected.as_of_date <= projected.last_day_in_period as is_current,
        projected.window_days,
        projected.elapsed_days,
        projected.remaining_days,
        cast(projected.commit_amount as decimal(38, 2)) as committed_amount,
        projected.period_consumed,
        projected.consumed_to_date,
        projected.term_consumed_to_date,
        projected.straight_line_to_date,
        cast(projected.consumed_to_date - projected.straight_line_to_date as decimal(38, 2))
            as pace_variance,
        case
            when projected.straight_line_to_date > 0
                then
                    cast(
                        round(
                            {{ safe_divide('consumed_to_date * 100', 'straight_line_to_date') }}, 2
                        ) as decimal(
                            18, 2
                        )
                    )
        end as pace_pct,
        projected.run_rate_days,
        projected.run_rate_spend,
        projected.run_rate_daily,
        projected.projected_spend,
        cast(greatest(projected.commit_amount - projected.projected_spend, 0) as decimal(38, 2))
            as projected_shortfall,
        projected.projected_spend < projected.commit_amount as at_risk,
        {{ dbt.datediff('projected.evaluation_date', 'projected.end_date', 'day') }} as days_to_end,  -- noqa: LT05
        coalesce(
            projected.end_date > projected.evaluation_date
            and {{ dbt.datediff('projected.evaluation_date', 'projected.end_date', 'day') }}
            <= projected.renewal_notice_days,
            false
        ) as renewal_due

    from projected

)

select * from final
