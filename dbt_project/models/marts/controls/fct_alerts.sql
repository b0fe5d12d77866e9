-- Every alert of fct_spend_alerts and fct_spend_anomalies as one list, one row per alert: a
-- threshold crossed (the spend to date on the day it was crossed, against the threshold amount),
-- a hard limit breached (the spend to date on the day of the breach, against the monthly
-- budget), an anomalous day (the day's anomaly basis, against the anomaly threshold). amount is
-- the figure at the alert's date, never the period's later spend; period_spend_to_date is the
-- period's spend through its evaluated day, for context.
with

spend_alerts as (

    select * from {{ ref('fct_spend_alerts') }}

),

anomalies as (

    select * from {{ ref('fct_spend_anomalies') }}

),

daily as (

    select * from {{ ref('fct_customer_daily_spend') }}

),

periods as (

    select distinct
        customer_id,
        period,
        currency,
        spend_to_date as period_spend_to_date,
        monthly_budget

    from spend_alerts

),

thresholds as (

    select
        spend_alerts.alert_id,
        spend_alerts.customer_id,
        spend_alerts.period,
        spend_alerts.crossed_on as alert_date,
        'threshold' as alert_type,
        spend_alerts.threshold_pct,
        spend_alerts.baseline_source,
        {{ rtrim_chars(
            rtrim_chars('cast(spend_alerts.threshold_pct as ' ~ text_type() ~ ')', "'0'"),
            "'.'"
        ) }}
        || '% of '
        || case spend_alerts.baseline_source
            when 'budget' then 'the monthly budget'
            when 'trailing_average' then 'the average spend of the last periods'
            else spend_alerts.baseline_source
        end as detail,
        spend_alerts.currency,
        daily.spend_to_date as amount,
        spend_alerts.threshold_amount as reference_amount

    from spend_alerts
    inner join daily
        on
            spend_alerts.customer_id = daily.customer_id
            and spend_alerts.crossed_on = daily.spend_date
    where spend_alerts.is_crossed

),

hard_limits as (

    select distinct
        spend_alerts.customer_id || ':' || spend_alerts.period || ':hard_limit' as alert_id,
        spend_alerts.customer_id,
        spend_alerts.period,
        spend_alerts.hard_limit_breached_on as alert_date,
        'hard_limit' as alert_type,
        cast(null as decimal(9, 2)) as threshold_pct,
        'budget' as baseline_source,
        'spend above the monthly budget (hard limit)' as detail,
        spend_alerts.currency,
        daily.spend_to_date as amount,
        spend_alerts.monthly_budget as reference_amount

    from spend_alerts
    inner join daily
        on
            spend_alerts.customer_id = daily.customer_id
            and spend_alerts.hard_limit_breached_on = daily.spend_date
    where spend_alerts.hard_limit_breached

),

anomaly_days as (

    select
        anomaly_id || ':anomaly' as alert_id,
        customer_id,
        period,
        spend_date as alert_date,
        'anomaly' as alert_type,
        cast(null as decimal(9, 2)) as threshold_pct,
        'trailing_median' as baseline_source,
        'day of ' || coalesce(cast(basis_to_median_ratio as {{ text_type() }}), '∞')
        || '× the trailing median' as detail,
        currency,
        anomaly_basis as amount,
        anomaly_threshold as reference_amount

    from anomalies

),

unioned as (

    select * from thresholds
    union all
    select * from hard_limits
    union all
    select * from anomaly_days

),

final as (

    select
        unioned.alert_id,
        unioned.customer_id,
        unioned.period,
        unioned.alert_date,
        unioned.alert_type,
        unioned.threshold_pct,
        unioned.baseline_source,
        unioned.detail,
        unioned.currency,
        cast(unioned.amount as decimal(38, 2)) as amount,
        cast(unioned.reference_amount as decimal(38, 2)) as reference_amount,
        periods.period_spend_to_date

    from unioned
    left join periods
        on
            unioned.customer_id = periods.customer_id
            and unioned.period = periods.period

)

select * from final
