-- OpenAI /organization/usage/* pages and dashboard activity CSV exports: one row per
-- (bucket, grouped result). OpenAI's `input_tokens` INCLUDES cached and cache-write tokens;
-- uncached input = input - cached - cache writes when the page does not give it.
with

source as (

    select * from {{ source('raw', 'openai_usage') }}

),

final as (

    select
        batch_id,
        file_path,
        row_number,
        source_format,
        bucket_start,
        bucket_end,
        result_object,
        group_by,
        project_id,
        user_id,
        api_key_id,
        nullif(trim(model), '') as model,
        batch,
        service_tier,
        cast(coalesce(input_tokens, 0) as bigint) as input_tokens,
        cast(coalesce(input_cached_tokens, 0) as bigint) as input_cached_tokens,
        cast(coalesce(input_cache_write_tokens, 0) as bigint) as input_cache_write_tokens,
        cast(
            coalesce(
                input_uncached_tokens,
                coalesce(input_tokens, 0) - coalesce(input_cached_tokens, 0)
                - coalesce(input_cache_write_tokens, 0)
            ) as bigint
        ) as input_uncached_tokens,
        cast(coalesce(output_tokens, 0) as bigint) as output_tokens,
        cast(coalesce(num_model_requests, 0) as bigint) as num_model_requests

    from source

)

select * from final
