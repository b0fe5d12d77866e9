-- Issued invoices (period-close ledger, written by `meterline close`): frozen, never rebuilt.
with

source as (

    select * from {{ ledger_source('issued_invoices') }}

),

final as (

    select
        invoice_number,
        customer_id,
        period,
        period_start,
        period_end,
        currency,
        subtotal,
        discount_total,
        credit_total,
        tax_total,
        total,
        issued_at,
        customer_name,
        billing_email,
        timezone,
        payment_terms_days,
        issue_date,
        due_date

    from source

)

select * from final
