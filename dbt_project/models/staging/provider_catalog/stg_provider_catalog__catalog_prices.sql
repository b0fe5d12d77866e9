-- Provider list prices resolved from the genai-prices catalog by the catalog step
-- (orchestration/costs/catalog_prices.py): USD per single unit, per price component, by the
-- date from which the version applies.
with

source as (

    select * from {{ source('raw', 'catalog_prices') }}

),

final as (

    select
        lower(provider) as provider,
        model,
        catalog_model_id,
        price_component,
        cast(unit_price as decimal(38, 18)) as unit_price,
        effective_from,
        resolved_for,
        notes

    from source

)

select * from final
