-- Credit notes issued at a close (ledger.issued_credit_notes, orchestration/credit_notes.py).
with

source as (

    select * from {{ source('ledger', 'issued_credit_notes') }}

),

final as (

    select
        credit_note_number,
        credit_note_id,
        customer_id,
        invoice_number,
        invoice_period,
        line_no,
        line_type,
        quantity,
        reason,
        settlement,
        currency,
        cast(amount as decimal(38, 2)) as amount,
        cast(tax as decimal(38, 2)) as tax,
        cast(total as decimal(38, 2)) as total,
        period,
        issued_at

    from source

)

select * from final
