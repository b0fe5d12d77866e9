-- COGS per customer x billing period x provider x model x feature: where each customer's cost
-- comes from (direct model cost by model and feature; shared costs under their FOCUS service
-- name with feature '(shared)'), and each row's share of the customer's period COGS.
with

cogs as (

    select * from {{ ref('int_cogs_periods_mapped') }}

),

grouped as (

    select
        customer_id,
        period,
        provider,
        model,
        feature,
        cast(sum(case when pool_kind = 'direct' then allocated_amount else 0 end) as decimal(38, 2))
            as cogs_direct,
        cast(
            sum(case when pool_kind <> 'direct' then allocated_amount else 0 end) as decimal(38, 2)
        )
            as cogs_allocated,
        cast(sum(allocated_amount) as decimal(38, 2)) as cogs_total

    from cogs
    group by customer_id, period, provider, model, feature

),

final as (

    select
        grouped.customer_id
        || ':'
        || grouped.period
        || '|'
        || grouped.provider
        || '|'
        || grouped.model
        || '|'
        || grouped.feature
            as breakdown_id,
        *,
        case
            when
                sum(grouped.cogs_total) over (partition by grouped.customer_id, grouped.period) <> 0
                then {{ round_money(safe_divide(
                    'cogs_total * 100',
                    'sum(cogs_total) over (partition by customer_id, period)'
                )) }}
        end as share_of_customer_cogs_pct

    from grouped

)

select * from final
