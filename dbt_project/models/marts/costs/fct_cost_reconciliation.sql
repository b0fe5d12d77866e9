-- Provider x model x UTC day: metered vs provider-reported tokens, expected vs billed cost.
-- Status (tolerances: vars reconciliation_tolerance_pct, reconciliation_tolerance_abs):
--   a day is flagged only when |billed - expected| exceeds BOTH tolerances; then
--   under_metered: the provider reports more tokens than we metered (beyond the % tolerance),
--                  or billed usage we metered nothing for -- revenue leakage;
--   over_metered:  we metered more tokens than the provider reports;
--   over_billed:   tokens agree but billed > expected (price or billing error in our disfavour);
--   under_billed:  tokens agree but billed < expected;
--   unpriced:      part of the metered usage has no provider price, so expected is incomplete.
with

metered as (

    select * from {{ ref('int_usage_quantities_aggregated') }}

),

expected as (

    select * from {{ ref('int_usage_costs_expected') }}

),

buckets as (

    select * from {{ ref('int_cost_buckets_mapped') }}

),

provider_usage as (

    select * from {{ ref('int_provider_usage_unioned') }}

),

cost_lines as (

    select * from {{ ref('int_provider_costs_unioned') }}

),

metered_by_bucket as (

    select
        buckets.provider,
        buckets.bucket_model,
        buckets.usage_date,
        sum(metered.input_tokens + metered.output_tokens) as metered_tokens,
        sum(metered.requests) as metered_requests

    from metered
    inner join buckets
        on
            metered.provider = buckets.provider
            and metered.usage_date = buckets.usage_date
            and metered.model_key = buckets.model_key
    group by all

),

expected_by_bucket as (

    select
        buckets.provider,
        buckets.bucket_model,
        buckets.usage_date,
        {{ to_cost('sum(coalesce(expected.expected_cost, 0))') }} as expected_cost,
        sum(case when not expected.is_priced then expected.quantity else 0 end)
            as unpriced_quantity

    from expected
    inner join buckets
        on
            expected.provider = buckets.provider
            and expected.usage_date = buckets.usage_date
            and expected.model_key = buckets.model_key
    group by all

),

reported_by_bucket as (

    select
        buckets.provider,
        buckets.bucket_model,
        buckets.usage_date,
        sum(provider_usage.total_tokens) as reported_tokens

    from provider_usage
    inner join buckets
        on
            provider_usage.provider = buckets.provider
            and provider_usage.usage_date = buckets.usage_date
            and coalesce(provider_usage.model_key, '*') = buckets.model_key
    where provider_usage.is_reconciled
    group by all

),

billed_by_bucket as (

    select
        x_provider as provider,
        coalesce(x_model_key, '*') as bucket_model,
        x_charge_date as usage_date,
        {{ to_cost('sum(BilledCost)') }} as billed_cost,
        count(*) as cost_lines

    from cost_lines
    where x_source_system <> 'focus'
    group by all

),

keys as (

    select distinct
        provider,
        bucket_model,
        usage_date
    from buckets

),

joined as (

    select
        keys.provider,
        keys.bucket_model as model,
        keys.usage_date,
        reported_by_bucket.reported_tokens,
        coalesce(metered_by_bucket.metered_tokens, 0) as metered_tokens,
        coalesce(metered_by_bucket.metered_requests, 0) as metered_requests,
        coalesce(expected_by_bucket.expected_cost, 0) as expected_cost,
        coalesce(expected_by_bucket.unpriced_quantity, 0) as unpriced_quantity,
        coalesce(billed_by_bucket.billed_cost, 0) as billed_cost,
        coalesce(billed_by_bucket.cost_lines, 0) as billed_cost_lines

    from keys
    left join metered_by_bucket
        on
            keys.provider = metered_by_bucket.provider
            and keys.bucket_model = metered_by_bucket.bucket_model
            and keys.usage_date = metered_by_bucket.usage_date
    left join expected_by_bucket
        on
            keys.provider = expected_by_bucket.provider
            and keys.bucket_model = expected_by_bucket.bucket_model
            and keys.usage_date = expected_by_bucket.usage_date
    left join reported_by_bucket
        on
            keys.provider = reported_by_bucket.provider
            and keys.bucket_model = reported_by_bucket.bucket_model
            and keys.usage_date = reported_by_bucket.usage_date
    left join billed_by_bucket
        on
            keys.provider = billed_by_bucket.provider
            and keys.bucket_model = billed_by_bucket.bucket_model
            and keys.usage_date = billed_by_bucket.usage_date

),

compared as (

    select
        *,
        reported_tokens - metered_tokens as token_difference,
        {{ to_cost('billed_cost - expected_cost') }} as cost_difference,
        abs(billed_cost - expected_cost) > {{ var('reconciliation_tolerance_abs') }}
        and abs(billed_cost - expected_cost) * 100
        > {{ var('reconciliation_tolerance_pct') }} * abs(expected_cost)
            as is_flagged,
        coalesce(
            abs(reported_tokens - metered_tokens) * 100
            > {{ var('reconciliation_tolerance_pct') }} * metered_tokens,
            false
        ) as tokens_differ

    from joined

),

final as (

    select
        compared.provider
        || '|'
        || compared.model
        || '|'
        || cast(cast(compared.usage_date as date) as {{ text_type() }}) as reconciliation_id,
        compared.provider,
        compared.model,
        compared.usage_date,
        compared.metered_tokens,
        compared.reported_tokens,
        compared.token_difference,
        case
            when compared.metered_tokens <> 0
                then {{ round_money(safe_divide('token_difference * 100', 'metered_tokens')) }}
        end as token_difference_pct,
        compared.metered_requests,
        compared.expected_cost,
        compared.billed_cost,
        compared.cost_difference,
        case
            when compared.expected_cost <> 0
                then {{ round_money(safe_divide('cost_difference * 100', 'expected_cost')) }}
        end as cost_difference_pct,
        compared.unpriced_quantity,
        compared.billed_cost_lines,
        compared.is_flagged,
        case
            when compared.unpriced_quantity <> 0 then 'unpriced'
            when not compared.is_flagged then 'matched'
            when
                compared.tokens_differ and compared.reported_tokens > compared.metered_tokens
                then 'under_metered'
            when
                compared.tokens_differ and compared.reported_tokens < compared.metered_tokens
                then 'over_metered'
            when compared.expected_cost = 0 and compared.billed_cost > 0 then 'under_metered'
            when compared.billed_cost > compared.expected_cost then 'over_billed'
            else 'under_billed'
        end as status

    from compared

)

select * from final
