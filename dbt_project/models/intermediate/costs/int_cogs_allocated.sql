-- Each cost pool's cents split across its recipients by largest remainder (ties: customer_id,
-- model, feature), so every pool's allocated amounts sum exactly to the pool:
--   direct pools:  customers' expected cost of that provider x model bucket x day, i.e. direct
--                  COGS = expected cost scaled to what the provider billed;
--   shared_tagged: the tagged customer;
--   shared_driver: customers' share of the driver on that day (int_cost_drivers_daily);
--   anything with no recipient (billed, nothing metered or no driver weight that day) goes to
--   customer 'unattributed', kept visible.
with

pools as (

    select * from {{ ref('int_cogs_pools') }}

),

expected as (

    select * from {{ ref('int_usage_costs_expected') }}

),

buckets as (

    select * from {{ ref('int_cost_buckets_mapped') }}

),

drivers as (

    select * from {{ ref('int_cost_drivers_daily') }}

),

direct_weights as (

    select
        buckets.provider,
        buckets.usage_date,
        buckets.bucket_model,
        expected.customer_id,
        expected.model_key as model,
        expected.feature,
        {{ to_cost('sum(expected.expected_cost)') }} as weight

    from expected
    inner join buckets
        on
            expected.provider = buckets.provider
            and expected.usage_date = buckets.usage_date
            and expected.model_key = buckets.model_key
    where expected.is_priced
    group by all
    having sum(expected.expected_cost) > 0

),

recipients as (

    select
        pools.pool_id,
        direct_weights.customer_id,
        direct_weights.model,
        direct_weights.feature,
        'expected_cost' as allocation_basis,
        direct_weights.weight

    from pools
    inner join direct_weights
        on
            pools.provider = direct_weights.provider
            and pools.cost_date = direct_weights.usage_date
            and pools.pool_model = direct_weights.bucket_model
    where pools.pool_kind = 'direct'

    union all

    select
        pool_id,
        tag_customer_id as customer_id,
        pool_model as model,
        '(shared)' as feature,
        'tag' as allocation_basis,
        {{ to_cost(1) }} as weight

    from pools
    where pool_kind = 'shared_tagged'

    union all

    select
        pools.pool_id,
        drivers.customer_id,
        pools.pool_model as model,
        '(shared)' as feature,
        'driver:' || pools.driver as allocation_basis,
        {{ to_cost('drivers.driver_quantity') }} as weight

    from pools
    inner join drivers
        on
            pools.cost_date = drivers.usage_date
            and pools.driver = drivers.driver
    where pools.pool_kind = 'shared_driver'

),

with_unattributed as (

    select * from recipients

    union all

    select
        pool_id,
        'unattributed' as customer_id,
        pool_model as model,
        case when pool_kind = 'direct' then '(none)' else '(shared)' end as feature,
        'none' as allocation_basis,
        {{ to_cost(1) }} as weight

    from pools
    where pool_id not in (select recipients.pool_id from recipients)

),

to_allocate as (

    select
        with_unattributed.*,
        pools.pool_amount,
        pools.pool_kind,
        pools.provider,
        pools.cost_date

    from with_unattributed
    inner join pools on with_unattributed.pool_id = pools.pool_id

),

allocated as (

    {{ allocate_largest_remainder(
        'to_allocate', ['pool_id'], 'pool_amount', 'weight', 'customer_id, model, feature', 2
    ) }}

),

final as (

    select
        pool_id || '|' || customer_id || '|' || model || '|' || feature as allocation_id,
        pool_id,
        pool_kind,
        provider,
        cost_date,
        customer_id,
        model,
        feature,
        allocation_basis,
        weight,
        allocated_amount

    from allocated

)

select * from final
