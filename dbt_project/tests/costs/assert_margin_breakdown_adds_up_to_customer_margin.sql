-- Invariant: per customer x period, the margin breakdown's revenue, direct COGS, allocated COGS
-- and gross margin sum EXACTLY to fct_customer_margin's figures (no period missing on either
-- side). COGS and margin that are NULL (a cost day without an fx rate) are NULL on both sides.
with

breakdown as (

    select
        customer_id,
        period,
        sum(revenue) as revenue,
        {{ sum_or_null('cogs_direct') }} as cogs_direct,
        {{ sum_or_null('cogs_allocated') }} as cogs_allocated,
        {{ sum_or_null('gross_margin') }} as gross_margin

    from {{ ref('fct_customer_margin_breakdown') }}
    group by customer_id, period

),

margin as (

    select * from {{ ref('fct_customer_margin') }}

),

final as (

    select
        coalesce(margin.customer_id, breakdown.customer_id) as customer_id,
        coalesce(margin.period, breakdown.period) as period,
        margin.revenue as margin_revenue,
        breakdown.revenue as breakdown_revenue,
        margin.cogs_direct as margin_cogs_direct,
        breakdown.cogs_direct as breakdown_cogs_direct,
        margin.cogs_allocated as margin_cogs_allocated,
        breakdown.cogs_allocated as breakdown_cogs_allocated,
        margin.gross_margin as margin_gross_margin,
        breakdown.gross_margin as breakdown_gross_margin

    from margin
    full outer join breakdown
        on
            margin.customer_id = breakdown.customer_id
            and margin.period = breakdown.period
    where
        margin.customer_id is null
        or (breakdown.customer_id is null and (margin.revenue <> 0 or margin.cogs_total <> 0))
        or coalesce(breakdown.revenue, 0) <> margin.revenue
        -- NULL (a missing fx rate) on one side must be NULL on the other
        or (breakdown.customer_id is not null and (
            breakdown.cogs_direct is distinct from margin.cogs_direct
            or breakdown.cogs_allocated is distinct from margin.cogs_allocated
            or breakdown.gross_margin is distinct from margin.gross_margin
        ))
        or (breakdown.customer_id is null and margin.cogs_total is null)

)

select * from final
