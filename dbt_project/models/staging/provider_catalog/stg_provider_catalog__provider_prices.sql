-- reference/provider_prices.csv: negotiated provider prices that override the catalog, by
-- effective date. `model` is a glob pattern (an exact name is the common case); `unit_price` is
-- quoted per `price_per` units (default 1); `effective_to` is exclusive, empty = open.
with

source as (

    select * from {{ source('raw', 'provider_prices') }}

),

final as (

    select
        batch_id,
        row_number,
        lower(trim(provider)) as provider,
        trim(model) as model_pattern,
        lower(trim(price_component)) as price_component,
        cast(trim(unit_price) as decimal(38, 12)) as unit_price,
        cast(coalesce(nullif(trim(price_per), ''), '1') as decimal(38, 12)) as price_per,
        cast(trim(effective_from) as date) as effective_from,
        cast(nullif(trim(effective_to), '') as date) as effective_to

    from source

)

select * from final
