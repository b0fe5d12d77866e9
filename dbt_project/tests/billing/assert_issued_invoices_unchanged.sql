-- Invariant (issue 17): an issued invoice's lines and totals never change. The content hash
-- recorded at issue (ledger.issued_invoice_hashes) equals the hash recomputed from the ledger
-- now, and from the marts' issued rows (fct_invoices, fct_invoice_lines). A row is an invoice
-- whose ledger or mart content differs from what was issued, or that the marts lost.
with

recorded as (

    select * from {{ ref('stg_ledger__issued_invoice_hashes') }}

),

ledger_invoices as (

    select * from {{ ref('stg_ledger__issued_invoices') }}

),

ledger_lines as (

    select * from {{ ref('stg_ledger__issued_invoice_lines') }}

),

mart_invoices as (

    select * from {{ ref('fct_invoices') }}
    where status = 'issued'

),

mart_lines as (

    select
        invoice_number,
        line_no,
        line_type,
        -- fct_invoice_lines shows a ledger line without a key as 'issued:<line_no>'
        case when line_key = 'issued:' || line_no then null else line_key end as line_key,
        description,
        meter_code,
        dimensions,
        quantity,
        unit,
        unit_price,
        amount,
        currency

    from {{ ref('fct_invoice_lines') }}
    where status = 'issued'

),

from_ledger as (

    {{ issued_invoice_hashes('ledger_invoices', 'ledger_lines') }}

),

from_marts as (

    {{ issued_invoice_hashes('mart_invoices', 'mart_lines') }}

),

final as (

    select
        recorded.invoice_number,
        recorded.content_hash as recorded_hash,
        from_ledger.content_hash as ledger_hash,
        from_marts.content_hash as mart_hash

    from recorded
    left join from_ledger
        on recorded.invoice_number = from_ledger.invoice_number
    left join from_marts
        on recorded.invoice_number = from_marts.invoice_number
    where
        from_ledger.content_hash is distinct from recorded.content_hash
        or from_marts.content_hash is distinct from recorded.content_hash

)

select * from final
