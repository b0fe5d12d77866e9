-- Enterprise contracts (reference/contracts.csv): end_date exclusive, NULL = open.
with

source as (

    select * from {{ source('raw', 'contracts') }}

),

final as (

    select
        trim(contract_id) as contract_id,
        trim(customer_id) as customer_id,
        cast(trim(start_date) as date) as start_date,
        cast(nullif(trim(end_date), '') as date) as end_date,
        {{ to_money("coalesce(nullif(trim(commit_amount), ''), '0')") }} as commit_amount,
        lower(coalesce(nullif(trim(commit_period), ''), 'month')) as commit_period,
        cast(coalesce(nullif(trim(usage_discount_pct), ''), '0') as decimal(9, 6))
            as usage_discount_pct,
        cast(nullif(trim(renewal_notice_days), '') as integer) as renewal_notice_days

    from source

)

select * from final
