-- Daily metered usage assigned to the subscription active on its local day, the plan version of
-- that subscription's period, the plan's charge for the meter, and the first price row whose
-- `when` globs all match (rows tried in order; a row without `when` matches everything).
-- Rows that cannot be priced keep a NULL price and an `unpriced_reason`. A `when` key that is
-- not a typed dimension is read from the row's extra_dimensions (meters on extra data keys).
with

usage as (

    select * from {{ ref('int_usage_daily_metered') }}

),

subscriptions as (

    select * from {{ ref('stg_reference__subscriptions') }}

),

subscription_periods as (

    select * from {{ ref('int_billing_subscription_periods') }}

),

charges as (

    select * from {{ ref('stg_reference__plan_charges') }}

),

prices as (

    select * from {{ ref('stg_reference__plan_prices') }}

),

conditions as (

    select * from {{ ref('stg_reference__plan_price_conditions') }}

),

subscribed as (

    select
        usage.*,
        subscription_periods.subscription_id,
        subscription_periods.plan_code,
        subscription_periods.plan_version

    from usage
    left join subscriptions
        on
            usage.customer_id = subscriptions.customer_id
            and usage.usage_date >= subscriptions.start_date
            and (subscriptions.end_date is null or usage.usage_date < subscriptions.end_date)
    left join subscription_periods
        on
            subscriptions.subscription_id = subscription_periods.subscription_id
            and usage.period = subscription_periods.period

),

charged as (

    select
        subscribed.*,
        charges.charge_index,
        charges.charge_model,
        charges.price_per

    from subscribed
    left join charges
        on
            subscribed.plan_code = charges.plan_code
            and subscribed.plan_version = charges.plan_version
            and subscribed.meter_code = charges.meter_code

),

-- price matching runs once per distinct (charge, dimension values), not per usage row
combos as (

    select distinct
        plan_code,
        plan_version,
        charge_index,
        {%- for dim in usage_dimension_fields() %}
        {{ dim }},
        {%- endfor %}
        extra_dimensions

    from charged
    where charge_index is not null

),

-- every (combination, price row) pair whose conditions all hold
candidate_matches as (

    select
        combos.plan_code,
        combos.plan_version,
        combos.charge_index,
        {%- for dim in usage_dimension_fields() %}
        combos.{{ dim }},
        {%- endfor %}
        combos.extra_dimensions,
        prices.price_index

    from combos
    inner join prices
        on
            combos.plan_code = prices.plan_code
            and combos.plan_version = prices.plan_version
            and combos.charge_index = prices.charge_index
    left join conditions
        on
            prices.plan_code = conditions.plan_code
            and prices.plan_version = conditions.plan_version
            and prices.charge_index = conditions.charge_index
            and prices.price_index = conditions.price_index
    group by
        combos.plan_code,
        combos.plan_version,
        combos.charge_index,
        {%- for dim in usage_dimension_fields() %}
        combos.{{ dim }},
        {%- endfor %}
        combos.extra_dimensions,
        prices.price_index
    having
        count(conditions.dimension) = 0
        or {{ bool_and_agg(glob_match(
            dimension_value('conditions.dimension', 'combos', 'combos.extra_dimensions'),
            'conditions.pattern'
        )) }}

),

first_match as (

    select
        plan_code,
        plan_version,
        charge_index,
        {%- for dim in usage_dimension_fields() %}
        {{ dim }},
        {%- endfor %}
        extra_dimensions,
        min(price_index) as price_index

    from candidate_matches
    group by
        plan_code,
        plan_version,
        charge_index,
        {%- for dim in usage_dimension_fields() %}
        {{ dim }},
        {%- endfor %}
        extra_dimensions

),

final as (

    select
        charged.*,
        first_match.price_index,
        case
            when charged.subscription_id is null then 'no_subscription'
            when charged.plan_version is null then 'no_plan_version'
            when charged.charge_index is null then 'no_charge_for_meter'
            when first_match.price_index is null then 'no_matching_price'
        end as unpriced_reason

    from charged
    left join first_match
        on
            charged.plan_code = first_match.plan_code
            and charged.plan_version = first_match.plan_version
            and charged.charge_index = first_match.charge_index
            {%- for dim in usage_dimension_fields() %}
            and charged.{{ dim }} is not distinct from first_match.{{ dim }}
            {%- endfor %}
            and charged.extra_dimensions is not distinct from first_match.extra_dimensions

)

select * from final
