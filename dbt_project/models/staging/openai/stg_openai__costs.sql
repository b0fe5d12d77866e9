-- OpenAI /organization/costs pages and dashboard cost CSV exports: one row per bucket result.
-- Amounts are dollars (not cents). `line_item` is free text, "<model snapshot>, <token class>"
-- when grouped by line item (a bare model name is also seen): split on the first comma.
with

source as (

    select * from {{ source('raw', 'openai_costs') }}

),

final as (

    select
        batch_id,
        file_path,
        row_number,
        source_format,
        bucket_start,
        bucket_end,
        cast(amount_value as decimal(38, 16)) as amount_usd,
        upper(amount_currency) as currency,
        nullif(trim(line_item), '') as line_item,
        nullif(trim(split_part(line_item, ',', 1)), '') as line_item_model,
        case
            when {{ dbt.position("','", 'line_item') }} > 0
                then nullif(trim(substr(line_item, {{ dbt.position("','", 'line_item') }} + 1)), '')
        end as line_item_class,
        project_id,
        api_key_id,
        organization_id,
        cast(quantity as decimal(38, 12)) as quantity,
        quantity_unit,
        amount_value is null as is_empty_bucket

    from source

)

select * from final
