-- The provider unit price (USD per single unit) of every (provider, model, component, day) that
-- metered usage needs. Precedence: a reference/provider_prices.csv row effective on the day
-- (effective_from <= day < effective_to; most specific model pattern, then latest
-- effective_from) beats the catalog version in effect on the day (latest effective_from <= day).
-- Cache writes without a cache-write price are priced at the input price (OpenAI charges none
-- separately). A need with no price stays here with a NULL price: it is reported as unpriced,
-- never costed at 0.
with

quantities as (

    select * from {{ ref('int_usage_quantities_aggregated') }}

),

overrides as (

    select * from {{ ref('stg_provider_catalog__provider_prices') }}

),

catalog as (

    select * from {{ ref('stg_provider_catalog__catalog_prices') }}

),

components as (

    select t.price_component from (
        values
        ('input'), ('cached_input'), ('cache_write'), ('output'),
        ('image'), ('audio_second'), ('character'), ('gpu_second')
    ) as t (price_component)

),

needs as (

    select distinct
        quantities.provider,
        quantities.model,
        quantities.usage_date,
        components.price_component

    from quantities
    cross join components

),

override_candidates as (

    select
        needs.provider,
        needs.model,
        needs.usage_date,
        needs.price_component,
        cast({{ safe_divide('overrides.unit_price', 'overrides.price_per') }} as decimal(38, 18))
            as unit_price,
        row_number() over (
            partition by needs.provider, needs.model, needs.usage_date, needs.price_component
            order by
                length(overrides.model_pattern) desc,
                overrides.effective_from desc,
                overrides.row_number asc
        ) as preference

    from needs
    inner join overrides
        on
            needs.provider = overrides.provider
            and needs.price_component = overrides.price_component
            and {{ glob_match('needs.model', 'overrides.model_pattern') }}
            and needs.usage_date >= overrides.effective_from
            and (overrides.effective_to is null or needs.usage_date < overrides.effective_to)

),

catalog_candidates as (

    select
        needs.provider,
        needs.model,
        needs.usage_date,
        needs.price_component,
        catalog.unit_price,
        row_number() over (
            partition by needs.provider, needs.model, needs.usage_date, needs.price_component
            order by catalog.effective_from desc
        ) as preference

    from needs
    inner join catalog
        on
            needs.provider = catalog.provider
            and needs.model = catalog.model
            and needs.price_component = catalog.price_component
            and needs.usage_date >= catalog.effective_from

),

direct_prices as (

    select
        needs.provider,
        needs.model,
        needs.usage_date,
        needs.price_component,
        coalesce(override_candidates.unit_price, catalog_candidates.unit_price) as unit_price,
        case
            when override_candidates.unit_price is not null then 'provider_prices'
            when catalog_candidates.unit_price is not null then 'catalog'
        end as price_source

    from needs
    left join override_candidates
        on
            needs.provider = override_candidates.provider
            and needs.model = override_candidates.model
            and needs.usage_date = override_candidates.usage_date
            and needs.price_component = override_candidates.price_component
            and override_candidates.preference = 1
    left join catalog_candidates
        on
            needs.provider = catalog_candidates.provider
            and needs.model = catalog_candidates.model
            and needs.usage_date = catalog_candidates.usage_date
            and needs.price_component = catalog_candidates.price_component
            and catalog_candidates.preference = 1

),

final as (

    select
        direct_prices.provider,
        direct_prices.model,
        direct_prices.usage_date,
        direct_prices.price_component,
        cast(coalesce(direct_prices.unit_price, input_prices.unit_price) as decimal(38, 18))
            as unit_price,
        case
            when direct_prices.unit_price is not null then direct_prices.price_source
            when input_prices.unit_price is not null then input_prices.price_source || ':input'
        end as price_source

    from direct_prices
    left join direct_prices as input_prices
        on
            direct_prices.price_component = 'cache_write'
            and input_prices.price_component = 'input'
            and direct_prices.provider = input_prices.provider
            and direct_prices.model = input_prices.model
            and direct_prices.usage_date = input_prices.usage_date

)

select * from final
