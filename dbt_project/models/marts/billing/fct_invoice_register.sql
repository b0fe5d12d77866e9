-- The invoice register: every invoice of fct_invoices (drafts and issued, same amounts) with what
-- a finance list shows beside them: the customer's name, the issue date (the ledger's issued_at,
-- as a date), the due date (issue date + the customer's payment_terms_days, when customers.csv
-- states them), and whether a draft sits in a period older than the latest issued period (a month
-- left open while a later one was closed).
with

invoices as (

    select * from {{ ref('fct_invoices') }}

),

issued as (

    select * from {{ ref('stg_ledger__issued_invoices') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

latest_issued as (

    select max(period) as latest_issued_period
    from invoices
    where status = 'issued'

),

final as (

    select
        invoices.invoice_id,
        invoices.invoice_number,
        invoices.customer_id,
        coalesce(customers.customer_name, invoices.customer_id) as customer_name,
        invoices.period,
        invoices.period_start,
        invoices.period_end,
        invoices.status,
        issued.issued_at,
        cast(issued.issued_at as date) as issue_date,
        customers.payment_terms_days,
        cast(issued.issued_at as date) + customers.payment_terms_days as due_date,
        invoices.currency,
        invoices.fees_total,
        invoices.usage_total,
        invoices.discount_total,
        invoices.minimum_commitment_total,
        invoices.adjustment_total,
        invoices.subtotal,
        invoices.credit_total,
        invoices.tax_total,
        invoices.total,
        invoices.is_blocked,
        invoices.blocked_reason,
        invoices.line_count,
        invoices.status <> 'issued'
        and coalesce(invoices.period < latest_issued.latest_issued_period, false)
            as is_draft_before_issued

    from invoices
    cross join latest_issued
    left join issued
        on invoices.invoice_number = issued.invoice_number
    left join customers
        on invoices.customer_id = customers.customer_id

)

select * from final
