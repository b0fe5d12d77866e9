-- Invariant: every usage invoice line is allocated to breakdown rows whose parts sum EXACTLY to
-- the line amount (no line missing, none allocated twice).
with

lines as (

    select
        invoice_id,
        line_key,
        amount
    from {{ ref('fct_invoice_lines') }}
    where line_type = 'usage'

),

allocated as (

    select
        invoice_id,
        line_key,
        sum(usage_revenue) as allocated,
        count(distinct line_amount) as line_amounts

    from {{ ref('int_revenue_usage_lines_allocated') }}
    group by invoice_id, line_key

),

final as (

    select
        lines.*,
        allocated.allocated,
        allocated.line_amounts
    from lines
    full outer join allocated
        on
            lines.invoice_id = allocated.invoice_id
            and lines.line_key = allocated.line_key
    where
        lines.invoice_id is null
        or allocated.invoice_id is null
        or allocated.allocated <> lines.amount
        or allocated.line_amounts <> 1

)

select * from final
