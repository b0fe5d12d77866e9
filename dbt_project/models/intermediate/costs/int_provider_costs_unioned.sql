-- Every provider cost line in FOCUS column names: OpenAI Costs API pages and dashboard CSVs,
-- Anthropic cost_report pages (cents -> dollars in staging), FOCUS 1.0-1.2 files. Provider
-- precision is kept (DECIMAL(38,15)); nothing is rounded here.
-- A file re-delivered under the same path with new content is a new batch that REPLACES the
-- earlier one (provider exports are restated, not appended): only the latest batch of a path
-- counts. Empty OpenAI buckets (rows without an amount) carry no cost and are left out.
-- x_ columns are meterline's additions (FOCUS custom-column convention).
with

openai_costs as (

    select * from {{ ref('stg_openai__costs') }}

),

anthropic_costs as (

    select * from {{ ref('stg_anthropic__costs') }}

),

focus_costs as (

    select * from {{ ref('stg_focus__costs') }}

),

openai_latest as (

    select *
    from openai_costs
    where not is_empty_bucket
    qualify batch_id = max(batch_id) over (partition by file_path)

),

anthropic_latest as (

    select *
    from anthropic_costs
    qualify batch_id = max(batch_id) over (partition by file_path)

),

focus_latest as (

    select *
    from focus_costs
    qualify batch_id = max(batch_id) over (partition by file_path)

),

openai_lines as (

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

    from openai_latest

),

anthropic_lines as (

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

    from anthropic_latest

),

focus_lines as (

    select
        'focus:' || file_path || ':' || row_number as x_cost_line_id,
        coalesce(lower(trim(ProviderName)), '(unknown provider)') as x_provider,
        'focus' as x_source_system,
        BillingAccountId,
        BillingAccountName,
        BillingCurrency,
        cast(BillingPeriodStart as date) as BillingPeriodStart,
        cast(BillingPeriodEnd as date) as BillingPeriodEnd,
        {{ to_cost('BilledCost') }} as BilledCost,
        {{ to_cost('EffectiveCost') }} as EffectiveCost,
        {{ to_cost('ListCost') }} as ListCost,
        {{ to_cost('ContractedCost') }} as ContractedCost,
        ChargeCategory,
        ChargeClass,
        ChargeDescription,
        ChargeFrequency,
        ChargePeriodStart,
        ChargePeriodEnd,
        ConsumedQuantity,
        ConsumedUnit,
        PricingQuantity,
        PricingUnit,
        ListUnitPrice,
        InvoiceIssuerName,
        ProviderName,
        PublisherName,
        RegionId,
        ResourceId,
        ResourceName,
        ResourceType,
        ServiceCategory,
        ServiceSubcategory,
        ServiceName,
        SkuId,
        SubAccountId,
        SubAccountName,
        Tags,
        cast(null as {{ text_type() }}) as x_model,
        cast(null as {{ text_type() }}) as x_model_key,
        cast(null as {{ text_type() }}) as x_token_type,
        focus_version as x_focus_version,
        extra_columns as x_extra_columns,
        file_path as x_source_file,
        row_number as x_source_row,
        batch_id as x_batch_id

    from focus_latest

),

unioned as (

    select * from openai_lines
    union all
    select * from anthropic_lines
    union all
    select * from focus_lines

),

final as (

    select
        *,
        cast(ChargePeriodStart as date) as x_charge_date

    from unioned

)

select * from final
