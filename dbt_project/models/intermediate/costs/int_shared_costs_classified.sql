-- Shared (FOCUS) cost lines and how each reaches customers: to the customer named by the
-- `tag_key` of reference/cost_allocation.yml in the line's Tags (when that customer exists),
-- else by the driver of the first rule (lowest rule_index) whose every `match` entry
-- (FOCUS column -> glob pattern) fits the line. Match keys may name: ProviderName,
-- ServiceCategory, ServiceSubcategory, ServiceName, ChargeCategory, SkuId, ResourceType,
-- ResourceId, RegionId, ConsumedUnit, SubAccountId; an unknown key never matches.
-- A line no tag and no rule claims keeps recipient_kind = 'unattributed' (visible in COGS).
with

cost_lines as (

    select * from {{ ref('int_provider_costs_unioned') }}

),

rules as (

    select * from {{ ref('stg_provider_catalog__cost_allocation_rules') }}

),

customers as (

    select * from {{ ref('stg_reference__customers') }}

),

shared_lines as (

    select * from cost_lines
    where x_source_system = 'focus'

),

tag_key as (

    select min(tag_key) as tag_key from rules

),

tagged as (

    select
        shared_lines.x_cost_line_id,
        customers.customer_id as tag_customer_id

    from shared_lines
    cross join tag_key
    inner join customers
        on
            customers.customer_id
            = {{ json_text_at_key('shared_lines.Tags', 'tag_key.tag_key') }}
    where
        tag_key.tag_key is not null
        and {{ json_is_valid('shared_lines.Tags') }}

),

rule_entries as (

    select
        rules.rule_index,
        rules.driver,
        entry.match_key,
        {{ json_text_at_key('rules.match_json', 'entry.match_key') }} as pattern

    from rules
    -- a lateral subquery over the row's own JSON: it has no CTE form
    cross join lateral (  -- noqa: ST05
        select {{ json_object_keys_unnested('rules.match_json') }} as match_key
    ) as entry

),

rule_sizes as (

    select
        rules.rule_index,
        rules.driver,
        count(rule_entries.match_key) as entries

    from rules
    left join rule_entries on rules.rule_index = rule_entries.rule_index
    group by all

),

entry_matches as (

    select
        shared_lines.x_cost_line_id,
        rule_entries.rule_index,
        count(*) as matched_entries

    from shared_lines
    inner join rule_entries
        on {{ glob_match(
            "case rule_entries.match_key
                when 'ProviderName' then shared_lines.ProviderName
                when 'ServiceCategory' then shared_lines.ServiceCategory
                when 'ServiceSubcategory' then shared_lines.ServiceSubcategory
                when 'ServiceName' then shared_lines.ServiceName
                when 'ChargeCategory' then shared_lines.ChargeCategory
                when 'SkuId' then shared_lines.SkuId
                when 'ResourceType' then shared_lines.ResourceType
                when 'ResourceId' then shared_lines.ResourceId
                when 'RegionId' then shared_lines.RegionId
                when 'ConsumedUnit' then shared_lines.ConsumedUnit
                when 'SubAccountId' then shared_lines.SubAccountId
            end",
            'rule_entries.pattern') }}
    group by all

),

first_rule as (

    select
        shared_lines.x_cost_line_id,
        rule_sizes.rule_index,
        rule_sizes.driver

    from shared_lines
    inner join rule_sizes on true
    left join entry_matches
        on
            shared_lines.x_cost_line_id = entry_matches.x_cost_line_id
            and rule_sizes.rule_index = entry_matches.rule_index
    where coalesce(entry_matches.matched_entries, 0) = rule_sizes.entries
    qualify row_number() over (
        partition by shared_lines.x_cost_line_id order by rule_sizes.rule_index
    ) = 1

),

final as (

    select
        shared_lines.x_cost_line_id,
        shared_lines.x_provider as provider,
        shared_lines.x_charge_date as cost_date,
        shared_lines.BilledCost as billed_cost,
        tagged.tag_customer_id,
        coalesce(shared_lines.ServiceName, '(unknown service)') as service_name,
        case when tagged.tag_customer_id is null then first_rule.rule_index end as rule_index,
        case when tagged.tag_customer_id is null then first_rule.driver end as driver,
        case
            when tagged.tag_customer_id is not null then 'tagged'
            when first_rule.driver is not null then 'driver'
            else 'unattributed'
        end as recipient_kind

    from shared_lines
    left join tagged on shared_lines.x_cost_line_id = tagged.x_cost_line_id
    left join first_rule on shared_lines.x_cost_line_id = first_rule.x_cost_line_id

)

select * from final
