-- Anthropic cost_report pages. `amount` arrives as a decimal string in CENTS (fractional cents
-- allowed): amount_usd = cents * 0.01, cast back to DECIMAL (no DOUBLE on the way).
-- Mapped to the FOCUS columns every provider's cost staging model shares (x_ columns are
-- meterline's additions), so int_provider_costs_unioned is a plain union.
with

source as (

    select * from {{ source('raw', 'anthropic_costs') }}

),

renamed as (

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

),

final as (

    select
        'anthropic:' || file_path || ':' || row_number as x_cost_line_id,
        'anthropic' as x_provider,
        'anthropic_cost_report' as x_source_system,
        cast(null as {{ text_type() }}) as BillingAccountId,
        cast(null as {{ text_type() }}) as BillingAccountName,
        currency as BillingCurrency,
        {{ month_start('bucket_start') }} as BillingPeriodStart,
        cast(
            {{ dbt.dateadd('month', 1, month_start('bucket_start')) }} as date
        ) as BillingPeriodEnd,
        {{ to_cost('amount_usd') }} as BilledCost,
        {{ to_cost('amount_usd') }} as EffectiveCost,
        {{ to_cost('amount_usd') }} as ListCost,
        {{ to_cost('amount_usd') }} as ContractedCost,
        'Usage' as ChargeCategory,
        cast(null as {{ text_type() }}) as ChargeClass,
        coalesce(description, 'Anthropic API usage') as ChargeDescription,
        'Usage-Based' as ChargeFrequency,
        bucket_start as ChargePeriodStart,
        bucket_end as ChargePeriodEnd,
        cast(null as decimal(38, 15)) as ConsumedQuantity,
        case when cost_type = 'tokens' then 'Tokens' end as ConsumedUnit,
        cast(null as decimal(38, 15)) as PricingQuantity,
        case when cost_type = 'tokens' then 'Tokens' end as PricingUnit,
        cast(null as decimal(38, 15)) as ListUnitPrice,
        'Anthropic' as InvoiceIssuerName,
        'Anthropic' as ProviderName,
        'Anthropic' as PublisherName,
        inference_geo as RegionId,
        cast(null as {{ text_type() }}) as ResourceId,
        cast(null as {{ text_type() }}) as ResourceName,
        cast(null as {{ text_type() }}) as ResourceType,
        'AI and Machine Learning' as ServiceCategory,
        'Generative AI' as ServiceSubcategory,
        'Claude API' as ServiceName,
        coalesce(description, cost_type) as SkuId,
        workspace_id as SubAccountId,
        cast(null as {{ text_type() }}) as SubAccountName,
        case
            when workspace_id is not null
                then {{ json_object_text("'workspace_id'", 'workspace_id') }}
        end as Tags,
        coalesce(model, {{ anthropic_model_from_description('description') }}) as x_model,
        {{ cost_model_key(
            "coalesce(model, " ~ anthropic_model_from_description('description') ~ ")"
        ) }}
            as x_model_key,
        token_type as x_token_type,
        cast(null as {{ text_type() }}) as x_focus_version,
        cast(null as {{ json_type() }}) as x_extra_columns,
        file_path as x_source_file,
        row_number as x_source_row,
        batch_id as x_batch_id

    from renamed

)

select * from final
