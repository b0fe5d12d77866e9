-- FOCUS 1.0-1.2 cost exports from any vendor, one row per charge row. Columns keep their FOCUS
-- names. FOCUS 1.3+ drafts rename ProviderName/PublisherName to ServiceProviderName/
-- HostProviderName: both spellings are accepted (the new ones arrive in `extra_columns`, which
-- also keeps every `x_` custom column and the sample's non-standard `Id`).
-- Projected onto the FOCUS columns every provider's cost staging model shares (x_ columns are
-- meterline's additions), so int_provider_costs_unioned is a plain union; the FOCUS columns
-- meterline does not use (AvailabilityZone, CommitmentDiscount*, Sku*, ...) stay in
-- raw.focus_costs.
with

source as (

    select * from {{ source('raw', 'focus_costs') }}

),

renamed as (

    select
        batch_id,
        file_path,
        row_number,
        focus_version,
        AvailabilityZone,
        BilledCost,
        BillingAccountId,
        BillingAccountName,
        BillingAccountType,
        BillingCurrency,
        BillingPeriodEnd,
        BillingPeriodStart,
        CapacityReservationId,
        CapacityReservationStatus,
        ChargeCategory,
        ChargeClass,
        ChargeDescription,
        ChargeFrequency,
        ChargePeriodEnd,
        ChargePeriodStart,
        CommitmentDiscountCategory,
        CommitmentDiscountId,
        CommitmentDiscountName,
        CommitmentDiscountQuantity,
        CommitmentDiscountStatus,
        CommitmentDiscountType,
        CommitmentDiscountUnit,
        ConsumedQuantity,
        ConsumedUnit,
        ContractedCost,
        ContractedUnitPrice,
        EffectiveCost,
        InvoiceId,
        InvoiceIssuerName,
        ListCost,
        ListUnitPrice,
        PricingCategory,
        PricingCurrency,
        PricingCurrencyContractedUnitPrice,
        PricingCurrencyEffectiveCost,
        PricingCurrencyListUnitPrice,
        PricingQuantity,
        PricingUnit,
        coalesce(ProviderName, {{ json_text('extra_columns', "'ServiceProviderName'") }})
            as ProviderName,
        coalesce(PublisherName, {{ json_text('extra_columns', "'HostProviderName'") }})
            as PublisherName,
        RegionId,
        RegionName,
        ResourceId,
        ResourceName,
        ResourceType,
        ServiceCategory,
        ServiceName,
        ServiceSubcategory,
        SkuId,
        SkuMeter,
        SkuPriceDetails,
        SkuPriceId,
        SubAccountId,
        SubAccountName,
        SubAccountType,
        Tags,
        extra_columns

    from source

),

final as (

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

    from renamed

)

select * from final
