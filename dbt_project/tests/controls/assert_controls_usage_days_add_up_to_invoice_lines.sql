-- The day amounts of every usage line (rated to date, day by day) add up exactly to the amount
-- of that line on the draft invoice: daily spend prices usage exactly as the rating engine does.
-- A child billed to its parent (issue 22): its line is on the parent's invoice (account line key).
-- A credit plan's overage line (charge model credit_overage) comes from the period's credit draws,
-- not from one usage line, and has no day amounts (the controls do not spread it over days).
with

line_days as (

    select * from {{ ref('int_controls_usage_lines_to_date') }}

),

invoice_lines as (

    select * from {{ ref('fct_invoice_lines') }}

),

invoices as (

    select * from {{ ref('fct_invoices') }}

),

periods as (

    select * from {{ ref('int_billing_periods') }}

),

day_totals as (

    select
        periods.billing_invoice_id as invoice_id,
        {{ account_line_key(
            'periods.customer_id', 'periods.billing_customer_id', 'line_days.line_key'
        ) }} as line_key,
        sum(line_days.amount) as day_total
    from line_days
    inner join periods
        on line_days.invoice_id = periods.invoice_id
    group by
        periods.billing_invoice_id,
        {{ account_line_key(
            'periods.customer_id', 'periods.billing_customer_id', 'line_days.line_key'
        ) }}

),

draft_lines as (

    select
        invoice_lines.invoice_id,
        invoice_lines.line_key,
        invoice_lines.amount
    from invoice_lines
    inner join invoices
        on invoice_lines.invoice_id = invoices.invoice_id
    where
        invoices.status = 'draft'
        and invoice_lines.line_type = 'usage'
        and coalesce(invoice_lines.charge_model, '') <> 'credit_overage'

),

final as (

    select
        coalesce(draft_lines.invoice_id, day_totals.invoice_id) as invoice_id,
        coalesce(draft_lines.line_key, day_totals.line_key) as line_key,
        draft_lines.amount,
        day_totals.day_total

    from draft_lines
    full outer join day_totals
        on
            draft_lines.invoice_id = day_totals.invoice_id
            and draft_lines.line_key = day_totals.line_key
    where
        draft_lines.amount is distinct from day_totals.day_total
        and coalesce(draft_lines.invoice_id, day_totals.invoice_id) in (
            select invoices.invoice_id from invoices
            where invoices.status = 'draft'
        )

)

select * from final
