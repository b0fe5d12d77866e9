-- Attributed COGS per customer x provider x model x UTC day, in cents: direct model cost
-- (expected cost scaled to what the provider billed) and allocated shared cost (FOCUS).
-- Customer 'unattributed' holds billed cost nothing could be attributed to.
-- Invariant (tested): per provider x day, the sum over customers (unattributed included)
-- equals the provider's billed cost of the day rounded to cents.
with

allocated as (

    select * from {{ ref('int_cogs_allocated') }}

),

final as (

    select
        customer_id || '|' || provider || '|' || model || '|' || strftime(cost_date, '%Y-%m-%d')
            as cogs_id,
        customer_id,
        provider,
        model,
        cost_date,
        customer_id = 'unattributed' as is_unattributed,
        cast(sum(case when pool_kind = 'direct' then allocated_amount else 0 end) as decimal(38, 2))
            as cogs_direct,
        cast(
            sum(case when pool_kind <> 'direct' then allocated_amount else 0 end) as decimal(38, 2)
        )
            as cogs_allocated,
        cast(sum(allocated_amount) as decimal(38, 2)) as cogs_total,
        'USD' as currency

    from allocated
    group by customer_id, provider, model, cost_date

)

select * from final
