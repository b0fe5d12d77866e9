-- reference/cost_allocation.yml: how shared (FOCUS) costs reach customers. `tag_key` names the
-- Tags key holding a customer id; untagged rows take the driver of the first rule (lowest
-- rule_index) whose `match` (FOCUS column -> glob pattern) fits.
with

source as (

    select * from {{ source('raw', 'cost_allocation_rules') }}

),

final as (

    select
        rule_index,
        nullif(trim(tag_key), '') as tag_key,
        coalesce(match_json, cast('{}' as {{ json_type() }})) as match_json,
        lower(trim(driver)) as driver

    from source

)

select * from final
