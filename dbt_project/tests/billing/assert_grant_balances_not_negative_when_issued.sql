-- Invariant (issue 17): across issued documents, no credit grant is burned below zero, and every
-- grant an issued invoice burned exists. Per grant, in period order, its amount minus the burns
-- recorded on issued invoices (ledger.issued_credit_burns) up to each period. A row is a grant
-- over-spent by issued invoices, or a burn of a grant that is not in credit_grants.csv.
with

grants as (

    select * from {{ ref('int_billing_credit_grants') }}

),

ledger_burns as (

    select * from {{ ref('stg_ledger__issued_credit_burns') }}

),

running as (

    select
        ledger_burns.grant_id,
        ledger_burns.customer_id,
        ledger_burns.period,
        ledger_burns.invoice_number,
        ledger_burns.burned,
        {{ round_money('grants.amount') }} as granted,
        grants.grant_id is null as is_unknown_grant,
        {{ round_money('grants.amount') }} - sum(ledger_burns.burned) over (
            partition by ledger_burns.grant_id
            order by ledger_burns.period, ledger_burns.invoice_number
            rows between unbounded preceding and current row
        ) as balance_after

    from ledger_burns
    left join grants
        on
            ledger_burns.grant_id = grants.grant_id
            and ledger_burns.customer_id = grants.customer_id

),

final as (

    select * from running
    where is_unknown_grant or balance_after < 0

)

select * from final
