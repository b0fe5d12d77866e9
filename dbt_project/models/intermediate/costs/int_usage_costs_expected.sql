-- Expected provider cost of metered usage: quantity x provider unit price, per price component
-- of each event type (uncached input, cached input, cache writes, output, images, audio
-- seconds, characters, GPU-seconds). Unpriced quantities keep a NULL cost and is_priced=false.
with

quantities as (

    select * from {{ ref('int_usage_quantities_aggregated') }}

),

prices as (

    select * from {{ ref('int_provider_prices_resolved') }}

),

unpivoted as (

    select
        quantities.customer_id,
        quantities.provider,
        quantities.model,
        quantities.model_key,
        quantities.feature,
        quantities.event_type,
        quantities.usage_date,
        c.price_component,
        c.quantity,
        c.is_token

    from quantities
    cross join
        lateral (
            values
            ('input', cast(quantities.uncached_input_tokens as decimal(38, 6)), true),
            ('cached_input', cast(quantities.cached_input_tokens as decimal(38, 6)), true),
            ('cache_write', cast(quantities.cache_write_tokens as decimal(38, 6)), true),
            ('output', cast(quantities.output_tokens as decimal(38, 6)), true),
            ('image', cast(quantities.images as decimal(38, 6)), false),
            ('audio_second', quantities.audio_seconds, false),
            ('character', cast(quantities.characters as decimal(38, 6)), false),
            ('gpu_second', quantities.gpu_seconds, false)
        ) as c (price_component, quantity, is_token)
    where c.quantity <> 0

),

final as (

    select
        unpivoted.customer_id,
        unpivoted.provider,
        unpivoted.model,
        unpivoted.model_key,
        unpivoted.feature,
        unpivoted.event_type,
        unpivoted.usage_date,
        unpivoted.price_component,
        unpivoted.quantity,
        unpivoted.is_token,
        prices.unit_price,
        prices.price_source,
        {{ to_cost('unpivoted.quantity * prices.unit_price') }} as expected_cost,
        prices.unit_price is not null as is_priced

    from unpivoted
    left join prices
        on
            unpivoted.provider = prices.provider
            and unpivoted.model = prices.model
            and unpivoted.usage_date = prices.usage_date
            and unpivoted.price_component = prices.price_component

)

select * from final
