-- Gross margin per customer x billing period x model: fct_customer_margin_breakdown summed over
-- provider and feature (so "margin of one model for one customer in one period" is one row).
-- Percentages recomputed on the sums, 2 places, NULL when the divisor is 0.
with

breakdown as (

    select * from {{ ref('fct_customer_margin_breakdown') }}

),

grouped as (

    select
        customer_id,
        period,
        model,
        count(*) as breakdown_rows,
        cast(sum(usage_revenue) as decimal(38, 2)) as usage_revenue,
        cast(sum(non_usage_revenue) as decimal(38, 2)) as non_usage_revenue,
        cast(sum(adjustment_revenue) as decimal(38, 2)) as adjustment_revenue,
        cast(sum(discount_allocated) as decimal(38, 2)) as discount_allocated,
        cast(sum(promotional_credit_allocated) as decimal(38, 2)) as promotional_credit_allocated,
        cast(sum(revenue) as decimal(38, 2)) as revenue,
        cast(sum(cogs_direct) as decimal(38, 2)) as cogs_direct,
        cast(sum(cogs_allocated) as decimal(38, 2)) as cogs_allocated,
        cast(sum(cogs_total) as decimal(38, 2)) as cogs_total,
        cast(sum(gross_margin) as decimal(38, 2)) as gross_margin

    from breakdown
    group by customer_id, period, model

),

final as (

    select
        customer_id || ':' || period || '|' || model as model_margin_id,
        customer_id,
        period,
        model,
        breakdown_rows,
        usage_revenue,
        non_usage_revenue,
        adjustment_revenue,
        discount_allocated,
        promotional_credit_allocated,
        revenue,
        cogs_direct,
        cogs_allocated,
        cogs_total,
        gross_margin,
        case
            when revenue <> 0 then {{ round_money(safe_divide('gross_margin * 100', 'revenue')) }}
        end as margin_pct,
        case
            when cogs_total <> 0
                then {{ round_money(safe_divide('gross_margin * 100', 'cogs_total')) }}
        end as markup_pct

    from grouped

)

select * from final
