-- FOCUS 1.0-1.2 cost exports from any vendor, one row per charge row. Columns keep their FOCUS
-- names. FOCUS 1.3+ drafts rename ProviderName/PublisherName to ServiceProviderName/
-- HostProviderName: both spellings are accepted (the new ones arrive in `extra_columns`, which
-- also keeps every `x_` custom column and the sample's non-standard `Id`).
with

source as (

    select * from {{ source('raw', 'focus_costs') }}

),

final as (

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

)

select * from final
