-- Charges of each plan version: which meter, which charge model, quoted per how many units, and
-- in which unit the prices are (money, or credits: a credit plan's credit_price).
with

source as (

    select * from {{ reference_source('plan_charges') }}

),

final as (

    select
        trim(plan_code) as plan_code,
        plan_version,
        charge_index,
        trim(meter_code) as meter_code,
        lower(trim(charge_model)) as charge_model,
        cast(coalesce(nullif(trim(price_per), ''), '1') as decimal(38, 12)) as price_per,
        coalesce(nullif(trim(price_unit), ''), 'money') as price_unit

    from source

)

select * from final
