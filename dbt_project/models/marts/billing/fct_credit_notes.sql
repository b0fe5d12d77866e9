-- Credit notes: one row per issued credit note (numbered CN-<YYYYMM>-<NNNNN> at a close), with
-- the invoice and line it credits and how it is settled. An account-credit note is also a
-- balance in fct_credit_ledger (grant_id = credit_note_number), burned by later invoices.
with

credit_notes as (

    select * from {{ ref('stg_ledger__issued_credit_notes') }}

),

invoices as (

    select * from {{ ref('stg_ledger__issued_invoices') }}

),

burns as (

    select * from {{ ref('int_billing_credit_burns') }}

),

used as (

    select
        grant_id,
        cast(sum(burned) as decimal(38, 2)) as burned

    from burns
    group by grant_id

),

final as (

    select
        credit_notes.credit_note_number,
        credit_notes.credit_note_id,
        credit_notes.customer_id,
        credit_notes.invoice_number,
        credit_notes.invoice_period,
        credit_notes.line_no,
        credit_notes.line_type,
        credit_notes.quantity,
        credit_notes.reason,
        credit_notes.settlement,
        credit_notes.currency,
        credit_notes.amount,
        credit_notes.tax,
        credit_notes.total,
        credit_notes.period,
        credit_notes.issued_at,
        invoices.total as invoice_total,
        case
            when credit_notes.settlement = 'account_credit' then coalesce(used.burned, 0)
        end as account_credit_used,
        case
            when credit_notes.settlement = 'account_credit'
                then cast(credit_notes.total - coalesce(used.burned, 0) as decimal(38, 2))
        end as account_credit_balance

    from credit_notes
    inner join invoices
        on credit_notes.invoice_number = invoices.invoice_number
    left join used
        on credit_notes.credit_note_number = used.grant_id

)

select * from final
