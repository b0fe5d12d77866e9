-- Which provider cost line ("bucket") each model's usage belongs to, per provider x UTC day.
-- Model names differ between sources, so every side is keyed by `cost_model_key` (lower-case,
-- snapshot date suffix removed): `gpt-4o-2024-08-06` in events and usage pages, OpenAI cost
-- line item "gpt-4o-2024-08-06, input", Anthropic `claude-haiku-4-5-20251001` or its
-- description "Claude Haiku 4.5 Usage - ..." all meet on `gpt-4o` / `claude-haiku-4-5`.
-- A model with its own billed line maps to itself; otherwise, when that provider-day has cost
-- lines that name no model (costs not grouped by line item), the model maps to the `*` bucket
-- (all models without a line of their own); otherwise to itself (billed nothing).
-- Only providers with API cost or usage data (openai, anthropic) are reconciled.
with

cost_lines as (

    select * from {{ ref('int_provider_costs_unioned') }}

),

provider_usage as (

    select * from {{ ref('int_provider_usage_unioned') }}

),

metered as (

    select * from {{ ref('int_usage_quantities_aggregated') }}

),

billed_keys as (

    select distinct
        x_provider as provider,
        x_charge_date as usage_date,
        coalesce(x_model_key, '*') as model_key

    from cost_lines
    where x_source_system <> 'focus'

),

reconciled_providers as (

    select provider from billed_keys
    union
    select provider from provider_usage

),

usage_keys as (

    select
        provider,
        usage_date,
        model_key
    from metered
    where provider in (select reconciled_providers.provider from reconciled_providers)
    union
    select
        provider,
        usage_date,
        coalesce(model_key, '*') as model_key
    from provider_usage
    where is_reconciled
    union
    select
        provider,
        usage_date,
        model_key
    from billed_keys

),

final as (

    select
        usage_keys.provider,
        usage_keys.usage_date,
        usage_keys.model_key,
        case
            when own.model_key is not null then usage_keys.model_key
            when star.model_key is not null then '*'
            else usage_keys.model_key
        end as bucket_model

    from usage_keys
    left join billed_keys as own
        on
            usage_keys.provider = own.provider
            and usage_keys.usage_date = own.usage_date
            and usage_keys.model_key = own.model_key
    left join billed_keys as star
        on
            usage_keys.provider = star.provider
            and usage_keys.usage_date = star.usage_date
            and star.model_key = '*'

)

select * from final
