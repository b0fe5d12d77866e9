-- Provider-reported usage (OpenAI usage, Anthropic usage_report) for token reconciliation.
with

provider_usage as (

    select * from {{ ref('int_provider_usage_unioned') }}

),

final as (

    select * from provider_usage

)

select * from final
