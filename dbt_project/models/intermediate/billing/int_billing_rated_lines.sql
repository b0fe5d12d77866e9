-- The rated lines of every invoice as the current data prices them: prorated subscription fees
-- and usage charges, each rounded once to cents. For issued periods these are compared with the
-- issued lines (late usage becomes adjustments); for open periods they are the invoice lines.
with

fees as (

    select * from {{ ref('int_billing_subscription_periods') }}

),

usage as (

    select * from {{ ref('int_billing_usage_rated') }}

),

fee_lines as (

    select
        invoice_id,
        customer_id,
        period,
        'subscription:' || subscription_id || ':' || plan_code || ':v' || plan_version as line_key,
        'subscription' as line_type,
        plan_name || ' v' || plan_version || ' subscription (' || active_days || '/'
        || days_in_period || ' days of ' || cast(fee as decimal(38, 2)) || ')' as description,
        cast(null as varchar) as meter_code,
        cast(null as varchar) as dimensions,
        cast(active_days as decimal(38, 9)) as quantity,
        'day' as unit,
        cast(null as decimal(38, 12)) as unit_price,
        fee_amount_unrounded as amount_unrounded,
        fee_amount as amount,
        subscription_id,
        plan_code,
        plan_version,
        cast(null as varchar) as charge_model,
        cast(null as decimal(38, 12)) as price_per

    from fees
    where fee is not null and plan_version is not null

),

usage_lines as (

    select
        invoice_id,
        customer_id,
        period,
        line_key,
        'usage' as line_type,
        meter_name || case when dimensions is not null then ' · ' || dimensions else '' end
        || ' · ' || price_text as description,
        meter_code,
        dimensions,
        quantity,
        unit,
        unit_price,
        amount_unrounded,
        amount,
        subscription_id,
        plan_code,
        plan_version,
        charge_model,
        price_per

    from usage

),

final as (

    select * from fee_lines
    union all
    select * from usage_lines

)

select * from final
