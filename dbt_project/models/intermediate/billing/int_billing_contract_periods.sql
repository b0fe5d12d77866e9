-- The contract that governs each invoice (customer x period): the contract active at any time in
-- the period (the latest-starting one if several), its usage discount and commitment, and
-- whether the period is the last of the contract's term (where a term commitment is trued up).
with

periods as (

    select * from {{ ref('int_billing_periods') }}
    -- a child billed to its parent has no invoice: the parent's contract covers its spend
    where is_billing_account

),

contracts as (

    select * from {{ ref('stg_reference__contracts') }}

),

final as (

    select
        periods.invoice_id,
        periods.customer_id,
        periods.period,
        contracts.contract_id,
        contracts.start_date as contract_start_date,
        contracts.end_date as contract_end_date,
        contracts.commit_amount,
        contracts.commit_period,
        contracts.usage_discount_pct,
        contracts.end_date is not null
        and contracts.end_date > periods.period_start
        and contracts.end_date <= periods.period_end as is_term_last_period

    from periods
    inner join contracts
        on
            periods.customer_id = contracts.customer_id
            and periods.period_end > contracts.start_date
            and (contracts.end_date is null or periods.period_start < contracts.end_date)
    qualify row_number() over (
        partition by periods.invoice_id
        order by contracts.start_date desc, contracts.contract_id desc
    ) = 1

)

select * from final
