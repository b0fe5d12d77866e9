-- Anthropic usage_report/messages pages. Anthropic's input is the SUM of its parts:
-- uncached + cache read + 5m cache write + 1h cache write (the opposite of OpenAI).
with

source as (

    select * from {{ source('raw', 'anthropic_usage') }}

),

final as (

    select
        batch_id,
        file_path,
        row_number,
        bucket_start,
        bucket_end,
        group_by,
        api_key_id,
        workspace_id,
        nullif(trim(model), '') as model,
        service_tier,
        context_window,
        cast(coalesce(uncached_input_tokens, 0) as bigint) as uncached_input_tokens,
        cast(coalesce(cache_creation_5m_input_tokens, 0) as bigint) as cache_write_5m_tokens,
        cast(coalesce(cache_creation_1h_input_tokens, 0) as bigint) as cache_write_1h_tokens,
        cast(coalesce(cache_read_input_tokens, 0) as bigint) as cache_read_tokens,
        cast(coalesce(output_tokens, 0) as bigint) as output_tokens,
        cast(coalesce(web_search_requests, 0) as bigint) as web_search_requests

    from source

)

select * from final
