-- Gross margin per customer x billing period x provider x model x feature: the revenue rows of
-- int_revenue_rows_allocated (usage lines split by quantity, adjustments, non-usage lines,
-- discount and promotional credits allocated exactly) full outer joined with the COGS rows of
-- fct_customer_cogs_breakdown (direct model COGS by model key and feature; shared costs under
-- their FOCUS ServiceName with feature '(shared)'). Per customer x period the rows add up
-- exactly to fct_customer_margin (revenue, COGS direct and allocated, gross margin): singular
-- test assert_margin_breakdown_adds_up_to_customer_margin. COGS in the customer's reporting
-- (invoice) currency, NULL on rows whose cost days lack an fx rate (fx_status missing_rate).
-- Accounts (issue 22): like fct_customer_margin, per billing account: a child billed to its
-- parent's invoice has its COGS rows counted under the parent (its revenue is on that invoice).
with

revenue as (

    select * from {{ ref('int_revenue_rows_allocated') }}

),

usage_cogs as (

    select * from {{ ref('fct_customer_cogs_breakdown') }}

),

customers as (

    select * from {{ ref('stg_reference__customers') }}

),

cogs as (

    select
        coalesce(customers.billing_customer_id, usage_cogs.customer_id) as customer_id,
        usage_cogs.period,
        usage_cogs.provider,
        usage_cogs.model,
        usage_cogs.feature,
        {{ sum_or_null('usage_cogs.cogs_direct') }} as cogs_direct,
        {{ sum_or_null('usage_cogs.cogs_allocated') }} as cogs_allocated,
        case
            when max(case when usage_cogs.fx_status = 'missing_rate' then 1 else 0 end) = 1
                then 'missing_rate'
            when max(case when usage_cogs.fx_status = 'converted' then 1 else 0 end) = 1
                then 'converted'
            else 'same_currency'
        end as fx_status

    from usage_cogs
    left join customers
        on usage_cogs.customer_id = customers.customer_id
    group by
        coalesce(customers.billing_customer_id, usage_cogs.customer_id),
        usage_cogs.period,
        usage_cogs.provider,
        usage_cogs.model,
        usage_cogs.feature

),

joined as (

    select
        coalesce(revenue.customer_id, cogs.customer_id) as customer_id,
        coalesce(revenue.period, cogs.period) as period,
        coalesce(revenue.provider, cogs.provider) as provider,
        coalesce(revenue.model, cogs.model) as model,
        coalesce(revenue.feature, cogs.feature) as feature,
        revenue.customer_id is not null as has_revenue_lines,
        cast(coalesce(revenue.usage_revenue, 0) as decimal(38, 2)) as usage_revenue,
        cast(coalesce(revenue.non_usage_revenue, 0) as decimal(38, 2)) as non_usage_revenue,
        cast(coalesce(revenue.adjustment_revenue, 0) as decimal(38, 2)) as adjustment_revenue,
        cast(coalesce(revenue.discount_allocated, 0) as decimal(38, 2)) as discount_allocated,
        cast(coalesce(revenue.promotional_credit_allocated, 0) as decimal(38, 2))
            as promotional_credit_allocated,
        cast(coalesce(revenue.revenue, 0) as decimal(38, 2)) as revenue,
        -- no COGS row: 0; a COGS row whose fx rate is missing: NULL, never 0
        cast(case when cogs.customer_id is null then 0 else cogs.cogs_direct end as decimal(38, 2))
            as cogs_direct,
        cast(
            case when cogs.customer_id is null then 0 else cogs.cogs_allocated end as decimal(38, 2)
        )
            as cogs_allocated,
        cogs.fx_status

    from revenue
    full outer join cogs
        on
            revenue.customer_id = cogs.customer_id
            and revenue.period = cogs.period
            and revenue.provider = cogs.provider
            and revenue.model = cogs.model
            and revenue.feature = cogs.feature

),

with_margin as (

    select
        *,
        cast(cogs_direct + cogs_allocated as decimal(38, 2)) as cogs_total,
        cast(revenue - (cogs_direct + cogs_allocated) as decimal(38, 2)) as gross_margin

    from joined

),

final as (

    select
        with_margin.customer_id
        || ':'
        || with_margin.period
        || '|'
        || with_margin.provider
        || '|'
        || with_margin.model
        || '|'
        || with_margin.feature
            as breakdown_id,
        with_margin.customer_id,
        with_margin.period,
        with_margin.provider,
        with_margin.model,
        with_margin.feature,
        case
            when with_margin.model = '(non-usage)' then 'non_usage'
            when with_margin.model = '(adjustment)' then 'adjustment'
            when
                with_margin.feature = '(shared)' and not with_margin.has_revenue_lines
                then 'shared_cost'
            else 'usage'
        end as row_kind,
        with_margin.usage_revenue,
        with_margin.non_usage_revenue,
        with_margin.adjustment_revenue,
        with_margin.discount_allocated,
        with_margin.promotional_credit_allocated,
        with_margin.revenue,
        with_margin.cogs_direct,
        with_margin.cogs_allocated,
        with_margin.cogs_total,
        with_margin.gross_margin,
        {{ margin_ratios() }},
        with_margin.fx_status

    from with_margin

)

select * from final
