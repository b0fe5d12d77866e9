-- Invariant (issue 17): per customer and month, opening deferred + billed - recognized = closing
-- deferred, where the deferred balances are the paid and account-credit balances of
-- fct_credit_ledger and billed / recognized come from the invoices and credit notes. A row is a
-- month that does not reconcile (e.g. invoices that applied credit the ledger did not burn).
with

schedule as (

    select * from {{ ref('fct_revenue_schedule') }}

),

final as (

    select *
    from schedule
    where deferred_opening + billed - recognized <> deferred_closing

)

select * from final
