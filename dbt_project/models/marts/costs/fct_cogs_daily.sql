-- Attributed COGS per customer x provider x model x UTC day, in cents of the provider cost
-- currency (`currency`, var cost_currency: USD): direct model cost (expected cost scaled to what
-- the provider billed) and allocated shared cost (FOCUS). Customer 'unattributed' holds billed
-- cost nothing could be attributed to.
-- Invariant (tested): per provider x day, the sum over customers (unattributed included)
-- equals the provider's billed cost of the day rounded to cents.
-- The *_reporting columns are the same COGS in the customer's reporting currency (its invoice
-- currency) at the fx rate of the day (int_cogs_converted); NULL with fx_status 'missing_rate'
-- when reference/fx_rates.csv has no rate for that day and pair.
with

allocated as (

    select * from {{ ref('int_cogs_converted') }}

),

final as (

    select
        customer_id
        || '|'
        || provider
        || '|'
        || model
        || '|'
        || cast(cast(cost_date as date) as {{ text_type() }})
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
        any_value(cost_currency) as currency,
        any_value(reporting_currency) as reporting_currency,
        any_value(fx_rate) as fx_rate,
        any_value(fx_status) as fx_status,
        cast(
            {{ sum_or_null(
                "case when pool_kind = 'direct' then allocated_amount_reporting else 0 end"
            ) }}
            as decimal(38, 2)
        ) as cogs_direct_reporting,
        cast(
            {{ sum_or_null(
                "case when pool_kind <> 'direct' then allocated_amount_reporting else 0 end"
            ) }}
            as decimal(38, 2)
        ) as cogs_allocated_reporting,
        cast({{ sum_or_null('allocated_amount_reporting') }} as decimal(38, 2))
            as cogs_total_reporting

    from allocated
    group by customer_id, provider, model, cost_date

)

select * from final
