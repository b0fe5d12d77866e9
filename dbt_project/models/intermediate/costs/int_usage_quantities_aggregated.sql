-- Metered usage per customer x provider x model x feature x event type x UTC day (providers
-- bucket in UTC), re-aggregated from the batch aggregates of int_usage_batches_daily (the one
-- pass over events). Only successful events count (failed generations are neither billed to
-- customers nor charged by providers). Events without a provider (GPU jobs, storage) carry no
-- model cost: they only drive shared-cost allocation.
with

batches as (

    select * from {{ ref('int_usage_batches_daily') }}

),

final as (

    select
        customer_id,
        lower(trim(provider)) as provider,
        model,
        {{ cost_model_key('model') }} as model_key,
        coalesce(feature, '(none)') as feature,
        event_type,
        utc_date as usage_date,
        cast(sum(event_count) as bigint) as requests,
        sum(sum_input_tokens) as input_tokens,
        sum(sum_uncached_input_tokens) as uncached_input_tokens,
        sum(sum_cached_input_tokens) as cached_input_tokens,
        sum(sum_cache_write_tokens) as cache_write_tokens,
        sum(sum_output_tokens) as output_tokens,
        coalesce(sum(sum_images), 0) as images,
        cast(coalesce(sum(sum_audio_seconds), 0) as decimal(38, 6)) as audio_seconds,
        coalesce(sum(sum_characters), 0) as characters,
        cast(coalesce(sum(sum_gpu_seconds), 0) as decimal(38, 6)) as gpu_seconds

    from batches
    where
        status = 'success'
        and nullif(trim(provider), '') is not null
        and nullif(trim(model), '') is not null
    group by all

)

select * from final
