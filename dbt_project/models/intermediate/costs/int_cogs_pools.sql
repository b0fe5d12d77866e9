-- Cost pools per provider x UTC day, in cents. A pool is what one allocation splits:
--   direct:  a provider's billed cost of one model bucket (see int_cost_buckets_mapped);
--   shared:  FOCUS cost of one service going to one tagged customer, or by one driver, or
--            unattributed.
-- Cents are placed so that the pools of a provider-day sum EXACTLY to that day's billed cost
-- rounded to cents: each pool is rounded (round_money), and the rounding difference of the day
-- goes to the pool with the largest absolute cost (ties: pool_id).
with

cost_lines as (

    select * from {{ ref('int_provider_costs_unioned') }}

),

shared as (

    select * from {{ ref('int_shared_costs_classified') }}

),

direct_pools as (

    select
        x_provider as provider,
        x_charge_date as cost_date,
        'direct' as pool_kind,
        coalesce(x_model_key, '*') as pool_model,
        cast(null as {{ text_type() }}) as tag_customer_id,
        cast(null as {{ text_type() }}) as driver,
        {{ to_cost('sum(BilledCost)') }} as billed_cost

    from cost_lines
    where x_source_system <> 'focus'
    group by all

),

shared_pools as (

    select
        provider,
        cost_date,
        'shared_' || recipient_kind as pool_kind,
        service_name as pool_model,
        tag_customer_id,
        driver,
        {{ to_cost('sum(billed_cost)') }} as billed_cost

    from shared
    group by all

),

pools as (

    select * from direct_pools
    union all
    select * from shared_pools

),

rounded as (

    select
        provider
        || '|'
        || cast(cast(cost_date as date) as {{ text_type() }})
        || '|'
        || pool_kind
        || '|'
        || pool_model || '|' || coalesce(tag_customer_id, driver, '') as pool_id,
        *,
        {{ round_money('billed_cost') }} as rounded_cents,
        {{ round_money('sum(billed_cost) over (partition by provider, cost_date)') }}
            as provider_day_cents

    from pools

),

final as (

    select
        pool_id,
        provider,
        cost_date,
        pool_kind,
        pool_model,
        tag_customer_id,
        driver,
        billed_cost,
        provider_day_cents,
        cast(
            rounded_cents
            + case
                when
                    row_number() over (
                        partition by provider, cost_date order by abs(billed_cost) desc, pool_id
                    ) = 1
                    then
                        provider_day_cents
                        - sum(rounded_cents) over (partition by provider, cost_date)
                else 0
            end
            as decimal(38, 2)
        ) as pool_amount

    from rounded

)

select * from final
