-- OpenAI /organization/costs pages and dashboard cost CSV exports: one row per bucket result.
-- Amounts are dollars (not cents). `line_item` is free text, "<model snapshot>, <token class>"
-- when grouped by line item (a bare model name is also seen): split on the first comma.
-- Mapped to the FOCUS columns every provider's cost staging model shares (x_ columns are
-- meterline's additions, FOCUS custom-column convention), so int_provider_costs_unioned is a
-- plain union. Empty buckets (no amount) carry no cost and are left out here; the raw rows stay
-- in raw.openai_costs.
with

source as (

    select * from {{ source('raw', 'openai_costs') }}

),

renamed as (

    select
        batch_id,
        file_path,
        row_number,
        source_format,
        bucket_start,
        bucket_end,
        cast(amount_value as decimal(38, 16)) as amount_usd,
        upper(amount_currency) as currency,
        nullif(trim(line_item), '') as line_item,
        nullif(trim(split_part(line_item, ',', 1)), '') as line_item_model,
        case
            when {{ dbt.position("','", 'line_item') }} > 0
                then nullif(trim(substr(line_item, {{ dbt.position("','", 'line_item') }} + 1)), '')
        end as line_item_class,
        project_id,
        api_key_id,
        organization_id,
        cast(quantity as decimal(38, 12)) as quantity,
        quantity_unit,
        amount_value is null as is_empty_bucket

    from source

),

final as (

    select
        'openai:' || file_path || ':' || row_number as x_cost_line_id,
        'openai' as x_provider,
        case source_format
            when 'dashboard_csv' then 'openai_dashboard_csv'
            else 'openai_costs_api'
        end as x_source_system,
        organization_id as BillingAccountId,
        cast(null as {{ text_type() }}) as BillingAccountName,
        coalesce(currency, 'USD') as BillingCurrency,
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
        coalesce(line_item, 'OpenAI API usage') as ChargeDescription,
        'Usage-Based' as ChargeFrequency,
        bucket_start as ChargePeriodStart,
        bucket_end as ChargePeriodEnd,
        cast(quantity as decimal(38, 15)) as ConsumedQuantity,
        quantity_unit as ConsumedUnit,
        cast(quantity as decimal(38, 15)) as PricingQuantity,
        quantity_unit as PricingUnit,
        cast(null as decimal(38, 15)) as ListUnitPrice,
        'OpenAI' as InvoiceIssuerName,
        'OpenAI' as ProviderName,
        'OpenAI' as PublisherName,
        cast(null as {{ text_type() }}) as RegionId,
        cast(null as {{ text_type() }}) as ResourceId,
        cast(null as {{ text_type() }}) as ResourceName,
        cast(null as {{ text_type() }}) as ResourceType,
        'AI and Machine Learning' as ServiceCategory,
        'Generative AI' as ServiceSubcategory,
        'OpenAI API' as ServiceName,
        line_item as SkuId,
        project_id as SubAccountId,
        cast(null as {{ text_type() }}) as SubAccountName,
        case
            when project_id is not null then {{ json_object_text("'project_id'", 'project_id') }}
        end as Tags,
        line_item_model as x_model,
        {{ cost_model_key('line_item_model') }} as x_model_key,
        line_item_class as x_token_type,
        cast(null as {{ text_type() }}) as x_focus_version,
        cast(null as {{ json_type() }}) as x_extra_columns,
        file_path as x_source_file,
        row_number as x_source_row,
        batch_id as x_batch_id

    from renamed
    where not is_empty_bucket

)

select * from final
