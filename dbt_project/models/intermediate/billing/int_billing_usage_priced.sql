-- Daily metered usage assigned to the subscription active on its local day, the plan version of
-- that subscription's period, the plan's charge for the meter, and the first price row whose
-- `when` globs all match (rows tried in order; a row without `when` matches everything).
-- Rows that cannot be priced keep a NULL price and an `unpriced_reason`. A `when` key that is
-- not a typed dimension is read from the row's extra_dimensions (meters on extra data keys).
--
-- Incremental per (customer, local day): a day's rows are recomputed, all of them, when a load
-- batch newer than the ones they were priced from has rows on that day (`max_batch_id`, the
-- newest batch of the day in int_usage_batches_daily). Raw usage is append-only, so a day no
-- new batch touched has the same rows as before. Every row carries the fingerprint of the
-- reference data it was priced with (customers, meters, plans, subscriptions): when that
-- changes, the pre-hook deletes every row and the whole table is recomputed. A change of this
-- model's SQL, or of any model or macro upstream of it, triggers a full refresh
-- (orchestration/defs/dbt/assets.py).
{%- set reference_models = [
    'stg_reference__customers', 'stg_reference__meters', 'stg_reference__meter_filters',
    'stg_reference__subscriptions', 'stg_reference__plans', 'stg_reference__plan_charges',
    'stg_reference__plan_prices', 'stg_reference__plan_price_conditions'] %}
{#- Spark (issue 21): no delete+insert without a table format such as Delta; rebuilt whole. -#}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='delete+insert',
    unique_key=['customer_id', 'usage_date'],
    on_schema_change='fail',
    pre_hook="{% if is_incremental() %}delete from {{ this }} where reference_fingerprint is distinct from ({{ relations_fingerprint(" ~ reference_models ~ ") }}){% endif %}",
) }}
with

-- the newest load batch of each customer x local day
day_batches as (

    select
        customer_id,
        usage_date,
        max(batch_id) as max_batch_id
    from {{ ref('int_usage_batches_daily') }}
    group by customer_id, usage_date

),

{%- if is_incremental() %}

-- days whose rows are missing, or were priced before a newer batch arrived
todo_days as (

    select day_batches.customer_id, day_batches.usage_date
    from day_batches
    left join (
        select distinct customer_id, usage_date, max_batch_id
        from {{ this }}
    ) as done
        on
            day_batches.customer_id = done.customer_id
            and day_batches.usage_date = done.usage_date
    where done.max_batch_id is distinct from day_batches.max_batch_id

),

{%- endif %}

-- the batch rows to price: all of them, or (incremental) those of the days to recompute
priced_batches as (

    select batch_rows.* from {{ ref('int_usage_batches_daily') }} as batch_rows
    {%- if is_incremental() %}
    where exists (
        select 1
        from todo_days
        where
            todo_days.customer_id = batch_rows.customer_id
            and todo_days.usage_date = batch_rows.usage_date
    )
    {%- endif %}

),

-- metered rows (the SQL of the int_usage_daily_metered view, over priced_batches); rows of
-- meters on extra data keys come whole from int_usage_extended_daily, hence the day filter
usage as (

    select * from (
        {{ usage_daily_metered('(' ~ usage_events_daily('priced_batches') ~ ')') }}
    ) as metered
    {%- if is_incremental() %}
    where exists (
        select 1
        from todo_days
        where
            todo_days.customer_id = metered.customer_id
            and todo_days.usage_date = metered.usage_date
    )
    {%- endif %}

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
        day_batches.max_batch_id,
        {{ relations_fingerprint(reference_models) }} as reference_fingerprint,
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
    left join day_batches
        on
            charged.customer_id = day_batches.customer_id
            and charged.usage_date = day_batches.usage_date

)

select * from final
