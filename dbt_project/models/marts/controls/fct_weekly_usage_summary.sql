-- Weekly usage summary: one row per customer x ISO week (Monday to Sunday, customer time zone)
-- with spend through the as-of day. Spend, fees, usage and discount are sums of
-- fct_customer_daily_spend; the top model is the model with the largest usage spend in the
-- week (usage shared between models by metered quantity, int_controls_usage_daily_models;
-- ties: model name); the peak day is the day of largest spend (ties: the earlier day).
with

daily as (

    select * from {{ ref('fct_customer_daily_spend') }}

),

model_days as (

    select * from {{ ref('int_controls_usage_daily_models') }}

),

customers as (

    select * from {{ ref('stg_reference__customers') }}

),

dated as (

    select
        *,
        {{ iso_week_text('spend_date') }} as iso_week,
        cast(date_trunc('week', spend_date) as date) as week_start

    from daily

),

weeks as (

    select
        customer_id,
        iso_week,
        week_start,
        any_value(currency) as currency,
        any_value(as_of_date) as as_of_date,
        count(*) as days_in_data,
        sum(spend) as spend,
        sum(fees) as fees,
        sum(usage_spend) as usage_spend,
        sum(discount) as discount,
        {{ arg_max_by(
            'spend_date',
            ['spend', '-' ~ dbt.datediff("date '2000-01-01'", 'spend_date', 'day')]
        ) }}
            as peak_day,
        max(spend) as peak_day_spend

    from dated
    group by customer_id, iso_week, week_start

),

week_models as (

    select
        dated.customer_id,
        dated.iso_week,
        model_days.model,
        {{ round_money('sum(model_days.usage_spend_unrounded)') }} as model_spend

    from dated
    inner join model_days
        on
            dated.customer_id = model_days.customer_id
            and dated.spend_date = model_days.usage_date
    group by dated.customer_id, dated.iso_week, model_days.model

),

top_models as (

    select
        customer_id,
        iso_week,
        model as top_model,
        model_spend as top_model_spend

    from week_models
    where model_spend > 0
    qualify row_number() over (
        partition by customer_id, iso_week
        order by model_spend desc, model asc
    ) = 1

),

compared as (

    select
        weeks.*,
        coalesce(lag(weeks.spend) over (
            partition by weeks.customer_id order by weeks.week_start
        ), 0) as previous_week_spend

    from weeks

),

final as (

    select
        compared.customer_id || ':' || compared.iso_week as weekly_summary_id,
        compared.customer_id,
        customers.customer_name,
        compared.currency,
        compared.iso_week,
        compared.week_start,
        cast({{ dbt.dateadd('day', 7, 'compared.week_start') }} as date) as week_end,
        cast({{ dbt.dateadd('day', 6, 'compared.week_start') }} as date) <= compared.as_of_date
            as is_complete_week,
        compared.as_of_date,
        compared.days_in_data,
        cast(compared.spend as decimal(38, 2)) as spend,
        cast(compared.fees as decimal(38, 2)) as fees,
        cast(compared.usage_spend as decimal(38, 2)) as usage_spend,
        cast(compared.discount as decimal(38, 2)) as discount,
        cast(compared.previous_week_spend as decimal(38, 2)) as previous_week_spend,
        cast(compared.spend - compared.previous_week_spend as decimal(38, 2)) as spend_change,
        case
            when compared.previous_week_spend <> 0
                then cast(round({{ safe_divide(
                    '(compared.spend - compared.previous_week_spend) * 100',
                    'compared.previous_week_spend'
                ) }}, 2) as decimal(18, 2))
        end as spend_change_pct,
        top_models.top_model,
        top_models.top_model_spend,
        case when compared.peak_day_spend > 0 then compared.peak_day end as peak_day,
        case
            when compared.peak_day_spend > 0
                then cast(compared.peak_day_spend as decimal(38, 2))
        end as peak_day_spend

    from compared
    inner join customers
        on compared.customer_id = customers.customer_id
    left join top_models
        on
            compared.customer_id = top_models.customer_id
            and compared.iso_week = top_models.iso_week

)

select * from final
