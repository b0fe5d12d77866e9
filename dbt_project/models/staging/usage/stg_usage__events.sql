-- Usage events, deduplicated once, here, on the idempotency key (event_source, event_id):
-- ingestion marked every repeat of a key (`is_duplicate`), so the first delivery is kept.
with

source as (

    select * from {{ source('raw', 'usage_events') }}

),

final as (

    select
        event_source,
        event_id,
        event_type,
        customer_id,
        event_time,                                   -- UTC
        provider,
        model,
        coalesce(status, 'success') as status,
        outcome,
        gpu_type,
        feature,
        endpoint,
        workspace_id,
        service_tier,
        latency_ms,
        coalesce(input_tokens, 0) as input_tokens,
        coalesce(cached_input_tokens, 0) as cached_input_tokens,
        coalesce(cache_write_tokens, 0) as cache_write_tokens,
        coalesce(input_tokens, 0) - coalesce(cached_input_tokens, 0)
        - coalesce(cache_write_tokens, 0) as uncached_input_tokens,
        coalesce(output_tokens, 0) as output_tokens,
        images,
        audio_seconds,
        characters,
        gpu_seconds,
        gb_stored,
        requests,
        extra_data,
        batch_id,
        file_path,
        row_number

    from source
    where not is_duplicate

)

select * from final
