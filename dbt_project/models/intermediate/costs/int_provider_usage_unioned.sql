-- Provider-reported usage (OpenAI usage pages / activity CSVs, Anthropic usage_report) in one
-- shape, one row per (bucket, grouped result). Token semantics are made comparable here:
--   OpenAI:    input_tokens already INCLUDES cached and cache-write tokens;
--   Anthropic: input = uncached + cache read + 5m cache write + 1h cache write.
-- `total_input_tokens` follows the metering convention (all input, cached and writes included).
-- A provider-day may hold several grouping sets (group_by pulls); summing across them would
-- double count, so `is_reconciled` marks the one set per provider x day x result kind that
-- reconciliation uses: the grouping set containing `model` with the fewest dimensions
-- (ties: the alphabetically first). Only the latest batch of a re-delivered path counts.
with

openai_usage as (

    select * from {{ ref('stg_openai__usage') }}

),

anthropic_usage as (

    select * from {{ ref('stg_anthropic__usage') }}

),

openai_rows as (

    select
        'openai:' || file_path || ':' || row_number as provider_usage_id,
        'openai' as provider,
        cast(bucket_start as date) as usage_date,
        bucket_start,
        bucket_end,
        coalesce(result_object, 'organization.usage.completions.result') as result_kind,
        group_by,
        model,
        project_id as account_scope_id,
        api_key_id,
        service_tier,
        batch as is_batch,
        input_tokens as total_input_tokens,
        input_uncached_tokens as uncached_input_tokens,
        input_cached_tokens as cached_input_tokens,
        input_cache_write_tokens as cache_write_tokens,
        cast(0 as bigint) as cache_write_1h_tokens,
        output_tokens,
        num_model_requests as requests,
        cast(0 as bigint) as web_search_requests,
        file_path,
        row_number,
        batch_id

    from openai_usage
    qualify batch_id = max(batch_id) over (partition by file_path)

),

anthropic_rows as (

    select
        'anthropic:' || file_path || ':' || row_number as provider_usage_id,
        'anthropic' as provider,
        cast(bucket_start as date) as usage_date,
        bucket_start,
        bucket_end,
        'messages' as result_kind,
        group_by,
        model,
        workspace_id as account_scope_id,
        api_key_id,
        service_tier,
        service_tier = 'batch' as is_batch,
        uncached_input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens
            as total_input_tokens,
        uncached_input_tokens,
        cache_read_tokens as cached_input_tokens,
        cache_write_5m_tokens as cache_write_tokens,
        cache_write_1h_tokens,
        output_tokens,
        cast(null as bigint) as requests,
        web_search_requests,
        file_path,
        row_number,
        batch_id

    from anthropic_usage
    qualify batch_id = max(batch_id) over (partition by file_path)

),

unioned as (

    select * from openai_rows
    union all
    select * from anthropic_rows

),

grouping_sets as (

    select
        provider,
        usage_date,
        result_kind,
        group_by,
        row_number() over (
            partition by provider, usage_date, result_kind
            order by length(group_by), group_by
        ) as preference

    from unioned
    where {{ text_list_contains('group_by', "','", "'model'") }}
    group by provider, usage_date, result_kind, group_by

),

final as (

    select
        unioned.*,
        {{ cost_model_key('unioned.model') }} as model_key,
        unioned.total_input_tokens + unioned.output_tokens as total_tokens,
        coalesce(grouping_sets.preference = 1, false) as is_reconciled

    from unioned
    left join grouping_sets
        on
            unioned.provider = grouping_sets.provider
            and unioned.usage_date = grouping_sets.usage_date
            and unioned.result_kind = grouping_sets.result_kind
            and unioned.group_by = grouping_sets.group_by

)

select * from final
