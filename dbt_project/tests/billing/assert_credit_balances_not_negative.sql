-- Invariant: no grant is burned or expired below zero, and burns never exceed what was granted.
with

ledger as (

    select * from {{ ref('fct_credit_ledger') }}

),

final as (

    select *
    from ledger
    where grant_balance_after < 0 or customer_balance_after < 0

)

select * from final
