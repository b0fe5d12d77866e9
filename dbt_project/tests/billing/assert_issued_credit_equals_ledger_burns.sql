-- Invariant (issue 17): the credit applied on each issued invoice equals what the ledger burned
-- from the grants for it: ledger.issued_credit_burns (when the invoice has burns recorded) and the
-- credit ledger mart's burn entries (fct_credit_ledger). A row is an invoice where they differ.
with

issued as (

    select * from {{ ref('stg_ledger__issued_invoices') }}

),

ledger_burns as (

    select * from {{ ref('stg_ledger__issued_credit_burns') }}

),

credit_ledger as (

    select * from {{ ref('fct_credit_ledger') }}
    where entry_type = 'burn'

),

recorded as (

    select
        invoice_number,
        sum(burned) as burned

    from ledger_burns
    group by invoice_number

),

mart as (

    select
        invoice_id,
        -sum(amount) as burned

    from credit_ledger
    group by invoice_id

),

final as (

    select
        issued.invoice_number,
        issued.credit_total,
        recorded.burned as recorded_burns,
        coalesce(mart.burned, 0) as mart_burns

    from issued
    left join recorded
        on issued.invoice_number = recorded.invoice_number
    left join mart
        on issued.customer_id || ':' || issued.period = mart.invoice_id
    where
        issued.credit_total <> coalesce(mart.burned, 0)
        or (recorded.burned is not null and issued.credit_total <> recorded.burned)

)

select * from final
