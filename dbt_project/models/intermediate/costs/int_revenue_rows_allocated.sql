-- Margin revenue per invoice x provider x model x feature: every line of the invoice subtotal
-- placed on a row, then the discount and the promotional credits allocated over the rows, so
-- that per invoice the rows' revenue = subtotal - promotional credits EXACTLY (PRICING.md).
--   usage lines:        int_revenue_usage_lines_allocated (quantity share per row);
--   adjustment lines:   their own row, provider '(none)', model '(adjustment)', feature = the
--                       meter of the late usage ('(discount)' for the discount correction);
--   subscription fees and minimum commitment: provider '(none)', model '(non-usage)',
--                       feature = the line type;
--   discount line:      over the usage rows, by their usage revenue;
--   promotional credit: over all rows, by their revenue before credits (negative rows weigh 0).
-- Both allocations by largest remainder in cents (ties: provider, model, feature). A discount
-- with no usage row to carry it (not produced by the rating today) lands on model '(non-usage)',
-- feature 'discount', so the totals still hold.
with

lines as (

    select * from {{ ref('fct_invoice_lines') }}

),

invoices as (

    select * from {{ ref('fct_invoices') }}

),

usage_allocated as (

    select * from {{ ref('int_revenue_usage_lines_allocated') }}

),

line_rows as (

    select
        invoice_id,
        customer_id,
        period,
        provider,
        model,
        feature,
        usage_revenue,
        cast(0 as decimal(38, 2)) as non_usage_revenue,
        cast(0 as decimal(38, 2)) as adjustment_revenue,
        1 as usage_lines

    from usage_allocated

    union all

    select
        invoice_id,
        customer_id,
        period,
        '(none)' as provider,
        '(non-usage)' as model,
        line_type as feature,
        cast(0 as decimal(38, 2)) as usage_revenue,
        amount as non_usage_revenue,
        cast(0 as decimal(38, 2)) as adjustment_revenue,
        0 as usage_lines

    from lines
    where line_type in ('subscription', 'minimum_commitment')

    union all

    select
        invoice_id,
        customer_id,
        period,
        '(none)' as provider,
        '(adjustment)' as model,
        coalesce(meter_code, '(discount)') as feature,
        cast(0 as decimal(38, 2)) as usage_revenue,
        cast(0 as decimal(38, 2)) as non_usage_revenue,
        amount as adjustment_revenue,
        0 as usage_lines

    from lines
    where line_type = 'adjustment'

),

discounts as (

    select
        invoice_id,
        any_value(customer_id) as customer_id,
        any_value(period) as period,
        cast(sum(amount) as decimal(38, 2)) as discount_amount

    from lines
    where line_type = 'discount'
    group by invoice_id
    having sum(amount) <> 0

),

-- a discount without any usage row gets a row of its own to land on
discount_fallback_rows as (

    select
        invoice_id,
        customer_id,
        period,
        '(none)' as provider,
        '(non-usage)' as model,
        'discount' as feature,
        cast(0 as decimal(38, 2)) as usage_revenue,
        cast(0 as decimal(38, 2)) as non_usage_revenue,
        cast(0 as decimal(38, 2)) as adjustment_revenue,
        1 as usage_lines

    from discounts
    where invoice_id not in (select usage_allocated.invoice_id from usage_allocated)

),

rows_before_discount as (

    select
        invoice_id,
        any_value(customer_id) as customer_id,
        any_value(period) as period,
        provider,
        model,
        feature,
        cast(sum(usage_revenue) as decimal(38, 2)) as usage_revenue,
        cast(sum(non_usage_revenue) as decimal(38, 2)) as non_usage_revenue,
        cast(sum(adjustment_revenue) as decimal(38, 2)) as adjustment_revenue,
        sum(usage_lines) as usage_lines

    from (
        select * from line_rows
        union all
        select * from discount_fallback_rows
    ) as all_rows
    group by invoice_id, provider, model, feature

),

discount_recipients as (

    select
        rows_before_discount.invoice_id,
        rows_before_discount.provider,
        rows_before_discount.model,
        rows_before_discount.feature,
        discounts.discount_amount,
        greatest(rows_before_discount.usage_revenue, 0) as weight

    from rows_before_discount
    inner join discounts
        on rows_before_discount.invoice_id = discounts.invoice_id
    where rows_before_discount.usage_lines > 0

),

discount_allocated as (

    {{ allocate_largest_remainder(
        'discount_recipients', ['invoice_id'], 'discount_amount', 'weight',
        'provider, model, feature', 2, 2
    ) }}

),

rows_before_credit as (

    select
        rows_before_discount.*,
        coalesce(discount_allocated.allocated_amount, 0) as discount_allocated,
        cast(
            rows_before_discount.usage_revenue + rows_before_discount.non_usage_revenue
            + rows_before_discount.adjustment_revenue
            + coalesce(discount_allocated.allocated_amount, 0)
            as decimal(38, 2)
        ) as revenue_before_credit

    from rows_before_discount
    left join discount_allocated
        on
            rows_before_discount.invoice_id = discount_allocated.invoice_id
            and rows_before_discount.provider = discount_allocated.provider
            and rows_before_discount.model = discount_allocated.model
            and rows_before_discount.feature = discount_allocated.feature

),

credit_recipients as (

    select
        rows_before_credit.invoice_id,
        rows_before_credit.provider,
        rows_before_credit.model,
        rows_before_credit.feature,
        invoices.promotional_credit_total as credit_amount,
        greatest(rows_before_credit.revenue_before_credit, 0) as weight

    from rows_before_credit
    inner join invoices
        on rows_before_credit.invoice_id = invoices.invoice_id
    where invoices.promotional_credit_total <> 0

),

credit_allocated as (

    {{ allocate_largest_remainder(
        'credit_recipients', ['invoice_id'], 'credit_amount', 'weight',
        'provider, model, feature', 2, 2
    ) }}

),

final as (

    select
        rows_before_credit.invoice_id || '|' || rows_before_credit.provider || '|'
        || rows_before_credit.model || '|' || rows_before_credit.feature as revenue_row_id,
        rows_before_credit.invoice_id,
        rows_before_credit.customer_id,
        rows_before_credit.period,
        rows_before_credit.provider,
        rows_before_credit.model,
        rows_before_credit.feature,
        rows_before_credit.usage_revenue,
        rows_before_credit.non_usage_revenue,
        rows_before_credit.adjustment_revenue,
        cast(rows_before_credit.discount_allocated as decimal(38, 2)) as discount_allocated,
        rows_before_credit.revenue_before_credit,
        cast(coalesce(credit_allocated.allocated_amount, 0) as decimal(38, 2))
            as promotional_credit_allocated,
        cast(
            rows_before_credit.revenue_before_credit
            - coalesce(credit_allocated.allocated_amount, 0)
            as decimal(38, 2)
        ) as revenue

    from rows_before_credit
    left join credit_allocated
        on
            rows_before_credit.invoice_id = credit_allocated.invoice_id
            and rows_before_credit.provider = credit_allocated.provider
            and rows_before_credit.model = credit_allocated.model
            and rows_before_credit.feature = credit_allocated.feature

)

select * from final
