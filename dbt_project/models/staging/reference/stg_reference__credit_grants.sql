-- Credit grants (reference/credit_grants.csv). granted_at / expires_at are read as naive
-- timestamps in the customer's time zone (a date means its midnight); expires_at NULL = never.
-- unit: money (default; amount is money) or credits (a credit pack of a credit plan: amount is
-- credit units, price_paid what the customer paid for it).
with

source as (

    select * from {{ source('raw', 'credit_grants') }}

),

final as (

    select
        trim(grant_id) as grant_id,
        trim(customer_id) as customer_id,
        {{ to_money("trim(amount)") }} as amount,
        cast(trim(granted_at) as timestamp) as granted_at,
        cast(nullif(trim(expires_at), '') as timestamp) as expires_at,
        cast(coalesce(nullif(trim(priority), ''), '0') as integer) as priority,
        lower(coalesce(nullif(trim(kind), ''), 'paid')) as kind,
        lower(coalesce(nullif(trim(unit), ''), 'money')) as unit,
        {{ to_money("nullif(trim(price_paid), '')") }} as price_paid

    from source

)

select * from final
