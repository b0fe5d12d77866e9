-- Spend per customer and local day through the as-of day, with the anomaly check: a day is an
-- anomaly when its spend exceeds anomaly_k x the median spend of the anomaly_window_days days
-- before it (zero days included), is at least anomaly_min_amount, and the customer has at least
-- anomaly_min_history_days days before it.
{%- set k = var('anomaly_k') %}
{%- set window_days = var('anomaly_window_days') | int %}
with

daily as (

    select * from {{ ref('int_controls_daily_spend') }}

),

customers as (

    select * from {{ ref('stg_reference__customers') }}

),

history as (

    select
        daily.*,
        {{ to_money('median(' ~ to_money('daily.spend') ~ ') over trailing_window') }}
            as trailing_median_spend,
        count(*) over trailing_window as history_days

    from daily
    window trailing_window as (
        partition by daily.customer_id
        order by daily.spend_date
        rows between {{ window_days }} preceding and 1 preceding
    )

),

final as (

    select
        history.daily_spend_id,
        history.customer_id,
        customers.currency,
        history.spend_date,
        history.period,
        history.period_start,
        history.period_end,
        history.days_in_period,
        history.as_of_date,
        history.fees,
        history.usage_spend,
        history.discount,
        history.spend,
        history.spend_to_date,
        history.history_days,
        history.trailing_median_spend,
        {{ round_money(to_money(k) ~ ' * history.trailing_median_spend') }} as anomaly_threshold,
        case
            when history.trailing_median_spend > 0
                then cast(round({{ safe_divide('history.spend', 'history.trailing_median_spend') }}, 2) as decimal(18, 2))
        end as spend_to_median_ratio,
        coalesce(
            history.history_days >= {{ var('anomaly_min_history_days') | int }}
            and history.spend >= {{ to_money(var('anomaly_min_amount')) }}
            and history.spend > {{ to_money(k) }} * history.trailing_median_spend,
            false
        ) as is_anomaly

    from history
    inner join customers
        on history.customer_id = customers.customer_id

)

select * from final
