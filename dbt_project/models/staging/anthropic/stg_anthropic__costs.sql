-- Anthropic cost_report pages. `amount` arrives as a decimal string in CENTS (fractional cents
-- allowed): amount_usd = cents * 0.01, cast back to DECIMAL (no DOUBLE on the way).
with

source as (

    select * from {{ source('raw', 'anthropic_costs') }}

),

final as (

    select
        batch_id,
        file_path,
        row_number,
        bucket_start,
        bucket_end,
        amount_cents,
        cast(amount_cents * cast(0.01 as decimal(3, 2)) as decimal(38, 11)) as amount_usd,
        upper(coalesce(currency, 'USD')) as currency,
        workspace_id,
        nullif(trim(description), '') as description,
        cost_type,
        nullif(trim(model), '') as model,
        token_type,
        service_tier,
        context_window,
        inference_geo

    from source

)

select * from final
