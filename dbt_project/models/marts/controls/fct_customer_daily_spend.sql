-- Spend per customer and local day through the as-of day, with the anomaly check.
-- Anomaly basis: the day's fees + usage of additive meters (sum, count), before discount. Usage
-- of max / latest / count_unique meters is left out: their period charge (e.g. storage at the
-- period's peak GB) lands on the day a new period high is reached, which is no sign of unusual
-- activity. A day is an anomaly when its basis exceeds anomaly_k x the median basis of the
-- anomaly_window_days days before it (zero days included, but only from the customer's first
-- active day), is at least anomaly_min_amount, and has at least anomaly_min_history_days such
-- days before it.
{%- set k = var('anomaly_k') %}
{%- set window_days = var('anomaly_window_days') | int %}
with

daily as (

    select * from {{ ref('int_controls_daily_spend') }}

),

customers as (

    select * from {{ ref('stg_reference__customers') }}

),

based as (

    select
        *,
        cast(fees + additive_usage_spend as decimal(38, 2)) as anomaly_basis,
        min(spend_date) filter (where fees + additive_usage_spend > 0) over (
            partition by customer_id
        ) as first_active_date

    from daily

),

{% if median_over_frames() %}
    active as (

        select
            daily_spend_id,
            {{ to_money('median(' ~ to_money('anomaly_basis') ~ ') over trailing_window') }}
                as trailing_median_basis,
            count(*) over trailing_window as history_days

        from based
        where spend_date >= first_active_date
        window trailing_window as (
            partition by customer_id
            order by spend_date
            rows between {{ window_days }} preceding and 1 preceding
        )

    ),
{%- else %}
-- no median over a window frame (Spark): the same trailing rows by a self-join on the row
-- number, their median from the sorted values (exact on DECIMAL)
active_days as (

    select
        daily_spend_id,
        customer_id,
        {{ to_money('anomaly_basis') }} as basis,
        row_number() over (partition by customer_id order by spend_date) as day_number

    from based
    where spend_date >= first_active_date

),

active as (

    select
        active_days.daily_spend_id,
        {{ to_money(exact_median('history.basis')) }} as trailing_median_basis,
        count(history.daily_spend_id) as history_days

    from active_days
    left join active_days as history
        on
            active_days.customer_id = history.customer_id
            and history.day_number >= active_days.day_number - {{ window_days }}
            and history.day_number <= active_days.day_number - 1
    group by active_days.daily_spend_id

),
{%- endif %}

final as (

    select
        based.daily_spend_id,
        based.customer_id,
        customers.currency,
        based.spend_date,
        based.period,
        based.period_start,
        based.period_end,
        based.days_in_period,
        based.as_of_date,
        based.fees,
        based.usage_spend,
        based.additive_usage_spend,
        based.discount,
        based.spend,
        based.spend_to_date,
        based.anomaly_basis,
        coalesce(active.history_days, 0) as history_days,
        active.trailing_median_basis,
        {{ round_money(to_money(k) ~ ' * active.trailing_median_basis') }} as anomaly_threshold,
        case
            when active.trailing_median_basis > 0
                then
                    cast(
                        round(
                            {{ safe_divide(
                                'based.anomaly_basis',
                                'active.trailing_median_basis'
                            ) }},
                            2
                        ) as decimal(
                            18, 2
                        )
                    )
        end as basis_to_median_ratio,
        coalesce(
            active.history_days >= {{ var('anomaly_min_history_days') | int }}
            and based.anomaly_basis >= {{ to_money(var('anomaly_min_amount')) }}
            and based.anomaly_basis > {{ to_money(k) }} * active.trailing_median_basis,
            false
        ) as is_anomaly

    from based
    inner join customers
        on based.customer_id = customers.customer_id
    left join active
        on based.daily_spend_id = active.daily_spend_id

)

select * from final
