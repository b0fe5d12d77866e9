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

    -- lateral_rows names its columns per engine: they stay unqualified
    -- noqa: disable=RF02
    select
        customer_id,
        provider,
        model,
        model_key,
        feature,
        event_type,
        usage_date,
        price_component,
        quantity,
        is_token

    from quantities
    {{ lateral_rows([
            ["'input'", 'cast(uncached_input_tokens as decimal(38, 6))', 'true'],
            ["'cached_input'", 'cast(cached_input_tokens as decimal(38, 6))', 'true'],
            ["'cache_write'", 'cast(cache_write_tokens as decimal(38, 6))', 'true'],
            ["'output'", 'cast(output_tokens as decimal(38, 6))', 'true'],
            ["'image'", 'cast(images as decimal(38, 6))', 'false'],
            ["'audio_second'", 'audio_seconds', 'false'],
            ["'character'", 'cast(characters as decimal(38, 6))', 'false'],
            ["'gpu_second'", 'gpu_seconds', 'false']
        ],
        'c', ['price_component', 'quantity', 'is_token']) }}
    where quantity <> 0
    -- noqa: enable=RF02

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
