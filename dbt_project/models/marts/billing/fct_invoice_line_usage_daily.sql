-- The daily usage behind each usage line of fct_invoice_lines (drafts and issued lines, by the
-- line key rating gave the line): one row per metered row (customer x meter x dimensions x local
-- day) priced by the line's price row. The quantities of a line's rows add up to the line's
-- quantity for sum and count meters. A view: it copies nothing, and a read filters one line.
-- A child billed to its parent (issue 22): its rows join the parent's invoice line by
-- usage_customer_id and the account line key.
{{ config(materialized='view') }}

with

priced as (

    select * from {{ ref('int_billing_usage_priced') }}
    where price_index is not null

),

lines as (

    select * from {{ ref('fct_invoice_lines') }}
    where line_type = 'usage'

),

final as (

    select
        lines.invoice_id,
        lines.line_no,
        lines.line_key,
        priced.usage_daily_id,
        priced.usage_date,
        priced.meter_code,
        priced.dimensions,
        priced.unit,
        priced.event_count,
        priced.quantity

    from priced
    inner join lines
        on
            priced.customer_id = lines.usage_customer_id
            and priced.period = lines.period
            and {{ account_line_key(
                'priced.customer_id', 'lines.customer_id', usage_line_key('priced')
            ) }} = lines.line_key

)

select * from final
