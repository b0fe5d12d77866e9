-- Subscriptions (reference/subscriptions.csv): end_date exclusive, NULL = open; plan_version
-- (optional) pins the plan version that prices every period of the subscription.
with

source as (

    select * from {{ reference_source('subscriptions') }}

),

final as (

    select
        trim(subscription_id) as subscription_id,
        trim(customer_id) as customer_id,
        trim(plan_code) as plan_code,
        cast(trim(start_date) as date) as start_date,
        cast(nullif(trim(end_date), '') as date) as end_date,
        cast(nullif(trim(plan_version), '') as integer) as plan_version

    from source

)

select * from final
