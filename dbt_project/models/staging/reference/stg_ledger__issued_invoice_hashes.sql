-- The content hash of each issued invoice recorded at issue (ledger.issued_invoice_hashes).
with

source as (

    select * from {{ source('ledger', 'issued_invoice_hashes') }}

),

final as (

    select
        invoice_number,
        customer_id,
        period,
        content_hash,
        issued_at

    from source

)

select * from final
