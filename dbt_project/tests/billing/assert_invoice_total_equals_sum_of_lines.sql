-- Invariant: every invoice's total equals the sum of its lines (drafts and issued).
with

invoices as (

    select * from {{ ref('fct_invoices') }}

),

lines as (

    select * from {{ ref('fct_invoice_lines') }}

),

line_sums as (

    select
        invoice_id,
        sum(amount) as lines_total
    from lines
    group by invoice_id

),

final as (

    select
        invoices.invoice_id,
        invoices.total,
        line_sums.lines_total

    from invoices
    left join line_sums
        on invoices.invoice_id = line_sums.invoice_id
    where invoices.total is distinct from coalesce(line_sums.lines_total, 0)

)

select * from final
