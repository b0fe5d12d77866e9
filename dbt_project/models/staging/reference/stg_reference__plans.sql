-- Plan versions (reference/plans/*.yml), typed.
with

source as (

    select * from {{ reference_source('plans') }}

),

final as (

    select
        trim(plan_code) as plan_code,
        plan_version,
        coalesce(nullif(trim(plan_name), ''), trim(plan_code)) as plan_name,
        upper(coalesce(nullif(trim(currency), ''), 'USD')) as currency,
        cast(effective_from as date) as effective_from,
        {{ to_money("nullif(trim(fee), '')") }} as fee

    from source

)

select * from final
