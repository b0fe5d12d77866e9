-- COGS per customer x billing period x provider x model x feature: where each customer's cost
-- comes from (direct model cost by model and feature; shared costs under their FOCUS service
-- name with feature '(shared)'), and each row's share of the customer's period COGS. Amounts in
-- the customer's reporting currency (int_cogs_converted: the rate of each cost day); NULL when a
-- day's rate is missing, never 0.
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
        cast(
            {{ sum_or_null(
                "case when pool_kind = 'direct' then allocated_amount_reporting else 0 end"
            ) }}
            as decimal(38, 2)
        ) as cogs_direct,
        cast(
            {{ sum_or_null(
                "case when pool_kind <> 'direct' then allocated_amount_reporting else 0 end"
            ) }}
            as decimal(38, 2)
        ) as cogs_allocated,
        cast({{ sum_or_null('allocated_amount_reporting') }} as decimal(38, 2)) as cogs_total,
        any_value(reporting_currency) as currency,
        any_value(cost_currency) as cost_currency,
        cast(sum(allocated_amount) as decimal(38, 2)) as cogs_total_cost_currency,
        case
            when max(case when fx_status = 'missing_rate' then 1 else 0 end) = 1 then 'missing_rate'
            when max(case when fx_status = 'converted' then 1 else 0 end) = 1 then 'converted'
            else 'same_currency'
        end as fx_status

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
                and count(*) over (partition by grouped.customer_id, grouped.period)
                = count(grouped.cogs_total) over (partition by grouped.customer_id, grouped.period)
                then {{ round_money(safe_divide(
                    'cogs_total * 100',
                    'sum(cogs_total) over (partition by customer_id, period)'
                )) }}
        end as share_of_customer_cogs_pct

    from grouped

)

select * from final
