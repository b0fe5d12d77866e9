-- Bill-shock alerts: one row per customer x billing period (through the as-of period) x alert
-- threshold. Spend = fees + usage after discount, to the as-of day (the whole period once it is
-- over). Baseline: the customer's monthly budget (budgets.csv), else the average spend of the up
-- to 3 periods before this one, else none (thresholds listed, never crossed). A threshold is
-- crossed when the spend to date reaches pct% of the baseline. Projected period spend:
-- month-to-date run-rate, spend_to_date x days_in_period / days_elapsed.
-- Accounts (issue 22): a parent's budget is on the account's spend (its children billed to it
-- included), int_controls_account_daily_spend; a child's budget on its own spend.
with

daily as (

    select * from {{ ref('int_controls_account_daily_spend') }}

),

budgets as (

    select * from {{ ref('stg_reference__budgets') }}

),

periods as (

    select
        customer_id,
        period,
        any_value(currency) as currency,
        any_value(period_start) as period_start,
        any_value(period_end) as period_end,
        any_value(days_in_period) as days_in_period,
        max(spend_date) as evaluated_through,
        any_value(as_of_date) as as_of_date,
        count(*) as days_elapsed,
        sum(spend) as spend_to_date,
        count(*) filter (where is_anomaly) as anomaly_days

    from daily
    group by customer_id, period

),

with_history as (

    select
        periods.*,
        lag(periods.spend_to_date) over customer_periods as last_period_spend,
        sum(periods.spend_to_date) over trailing_periods as trailing_spend,
        count(*) over trailing_periods as trailing_periods

    from periods
    window
        customer_periods as (partition by periods.customer_id order by periods.period),
        trailing_periods as (
            partition by periods.customer_id
            order by periods.period
            rows between 3 preceding and 1 preceding
        )

),

baselines as (

    select
        with_history.*,
        budgets.monthly_budget,
        coalesce(budgets.hard_limit, false) as hard_limit,
        coalesce(budgets.alert_thresholds_pct, '{{ var("default_alert_thresholds_pct") }}')
            as alert_thresholds_pct,
        case
            when with_history.trailing_periods > 0
                then
                    {{ round_money(safe_divide(
                        'with_history.trailing_spend', 'with_history.trailing_periods'
                    )) }}
        end as trailing_average_spend

    from with_history
    left join budgets
        on with_history.customer_id = budgets.customer_id

),

based as (

    select
        baselines.*,
        case
            when baselines.monthly_budget is not null then 'budget'
            when baselines.trailing_average_spend is not null then 'trailing_average'
            else 'none'
        end as baseline_source,
        coalesce(baselines.monthly_budget, baselines.trailing_average_spend) as baseline_amount,
        {{ round_money(safe_divide('spend_to_date * days_in_period', 'days_elapsed')) }}
            as projected_period_spend

    from baselines

),

thresholds as (

    select
        based.*,
        cast(trim(threshold_text.pct) as decimal(9, 2)) as threshold_pct

    from based
    -- a lateral subquery over the row's own text: it has no CTE form
    cross join
        lateral (  -- noqa: ST05
            select {{ array_unnested(split_text('based.alert_thresholds_pct', "'|'")) }} as pct
        ) as threshold_text
    where trim(threshold_text.pct) <> ''

),

amounts as (

    select
        *,
        {{ safe_divide('baseline_amount * threshold_pct', 100) }} as threshold_amount_exact

    from thresholds

),

crossings as (

    select
        amounts.customer_id,
        amounts.period,
        amounts.threshold_pct,
        min(daily.spend_date) filter (
            where daily.spend_to_date >= amounts.threshold_amount_exact
        ) as crossed_on,
        min(daily.spend_date) filter (
            where amounts.hard_limit and daily.spend_to_date > amounts.monthly_budget
        ) as hard_limit_breached_on

    from amounts
    inner join daily
        on
            amounts.customer_id = daily.customer_id
            and amounts.period = daily.period
    group by amounts.customer_id, amounts.period, amounts.threshold_pct

),

final as (

    select
        amounts.customer_id || ':' || amounts.period || ':'
        || cast(amounts.threshold_pct as {{ text_type() }}) as alert_id,
        amounts.customer_id,
        amounts.period,
        amounts.period_start,
        amounts.period_end,
        amounts.currency,
        amounts.as_of_date,
        amounts.evaluated_through,
        amounts.evaluated_through = amounts.as_of_date
        and amounts.period_end > amounts.as_of_date as is_current_period,
        amounts.days_elapsed,
        amounts.days_in_period,
        cast(amounts.spend_to_date as decimal(38, 2)) as spend_to_date,
        amounts.projected_period_spend,
        cast(amounts.last_period_spend as decimal(38, 2)) as last_period_spend,
        amounts.trailing_average_spend,
        cast(amounts.monthly_budget as decimal(38, 2)) as monthly_budget,
        amounts.baseline_source,
        cast(amounts.baseline_amount as decimal(38, 2)) as baseline_amount,
        amounts.threshold_pct,
        {{ round_money('amounts.threshold_amount_exact') }} as threshold_amount,
        crossings.crossed_on is not null as is_crossed,
        crossings.crossed_on,
        coalesce(
            crossings.crossed_on is null
            and amounts.projected_period_spend >= amounts.threshold_amount_exact,
            false
        ) as is_projected_to_cross,
        amounts.hard_limit,
        crossings.hard_limit_breached_on is not null as hard_limit_breached,
        crossings.hard_limit_breached_on,
        amounts.anomaly_days

    from amounts
    inner join crossings
        on
            amounts.customer_id = crossings.customer_id
            and amounts.period = crossings.period
            and amounts.threshold_pct = crossings.threshold_pct

)

select * from final
