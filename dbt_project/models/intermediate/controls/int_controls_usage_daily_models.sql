-- Usage spend per customer x local day x model, for "top model" figures: each usage line's day
-- amount (int_controls_usage_lines_to_date) shared between the models that used the line that
-- day, in proportion to their metered quantity (by event count when the day's quantity is 0).
-- Shares are unrounded DECIMAL(38,12); round them once, where they are summed for display.
with

priced as (

    select * from {{ ref('int_billing_usage_priced') }}
    where unpriced_reason is null

),

line_days as (

    select * from {{ ref('int_controls_usage_lines_to_date') }}

),

model_days as (

    select
        {{ usage_line_key() }} as line_key,
        period,
        usage_date,
        coalesce(model, '(no model)') as model,
        sum(quantity) as quantity,
        sum(event_count) as event_count

    from priced
    group by
        subscription_id,
        meter_code,
        charge_index,
        price_index,
        period,
        usage_date,
        coalesce(model, '(no model)')

),

shares as (

    select
        model_days.*,
        sum(model_days.quantity) over line_day as line_quantity,
        sum(model_days.event_count) over line_day as line_event_count

    from model_days
    window line_day as (partition by model_days.line_key, model_days.period, model_days.usage_date)

),

allocated as (

    select
        line_days.customer_id,
        line_days.usage_date,
        shares.model,
        case
            when shares.line_quantity > 0
                then {{ safe_divide('line_days.amount * shares.quantity', 'shares.line_quantity') }}
            else
                {{ safe_divide(
                    'line_days.amount * shares.event_count',
                    'shares.line_event_count'
                ) }}
        end as usage_spend_unrounded

    from line_days
    inner join shares
        on
            line_days.line_key = shares.line_key
            and line_days.period = shares.period
            and line_days.usage_date = shares.usage_date

),

final as (

    select
        customer_id
        || ':'
        || cast(usage_date as {{ text_type() }})
        || ':'
        || model as usage_model_day_id,
        customer_id,
        usage_date,
        model,
        {{ to_money('sum(usage_spend_unrounded)') }} as usage_spend_unrounded

    from allocated
    group by customer_id, usage_date, model

)

select * from final
