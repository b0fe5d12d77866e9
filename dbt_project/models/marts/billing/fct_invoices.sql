-- One invoice per customer x billing month: drafts for open periods, issued invoices exactly as
-- issued (with their number). total = subtotal - credit_total + tax_total = sum of its lines.
with

totals as (

    select * from {{ ref('int_billing_invoice_totals') }}

),

lines as (

    select * from {{ ref('fct_invoice_lines') }}

),

line_counts as (

    select
        invoice_id,
        count(*) as line_count

    from lines
    group by invoice_id

),

final as (

    select
        totals.invoice_id,
        totals.customer_id,
        totals.period,
        totals.period_start,
        totals.period_end,
        totals.currency,
        totals.fees_total,
        totals.usage_total,
        totals.discount_total,
        totals.minimum_commitment_total,
        totals.adjustment_total,
        totals.subtotal,
        totals.credit_total,
        totals.promotional_credit_total,
        totals.taxable_amount,
        totals.tax_rate,
        totals.tax_total,
        totals.total,
        totals.status,
        totals.invoice_number,
        totals.is_blocked,
        totals.blocked_reason,
        cast(coalesce(line_counts.line_count, 0) as integer) as line_count

    from totals
    left join line_counts
        on totals.invoice_id = line_counts.invoice_id

)

select * from final
