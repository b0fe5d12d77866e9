-- Metered usage per customer x provider x model x feature x event type x UTC day (providers
-- bucket in UTC), aggregated once, before any join. Only successful events count (failed
-- generations are neither billed to customers nor charged by providers). Events without a
-- provider (GPU jobs, storage) carry no model cost: they only drive shared-cost allocation.
with

events as (

    select * from {{ ref('stg_usage__events') }}

),

final as (

    select
        customer_id,
        lower(trim(provider)) as provider,
        model,
        {{ cost_model_key('model') }} as model_key,
        coalesce(feature, '(none)') as feature,
        event_type,
        cast(event_time as date) as usage_date,
        count(*) as requests,
        sum(input_tokens) as input_tokens,
        sum(uncached_input_tokens) as uncached_input_tokens,
        sum(cached_input_tokens) as cached_input_tokens,
        sum(cache_write_tokens) as cache_write_tokens,
        sum(output_tokens) as output_tokens,
        sum(coalesce(images, 0)) as images,
        cast(sum(coalesce(audio_seconds, 0)) as decimal(38, 6)) as audio_seconds,
        sum(coalesce(characters, 0)) as characters,
        cast(sum(coalesce(gpu_seconds, 0)) as decimal(38, 6)) as gpu_seconds

    from events
    where status = 'success'
        and nullif(trim(provider), '') is not null
        and nullif(trim(model), '') is not null
    group by all

)

select * from final
