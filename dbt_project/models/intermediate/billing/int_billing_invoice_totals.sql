-- Invoice totals per customer x period (PRICING.md steps 4-7). Open periods: subtotal from the
-- rated lines, credits burned (int_billing_credit_burns), tax = round((subtotal - credits) x
-- tax_rate), total = subtotal - credits + tax. Issued periods: the totals exactly as issued.
-- Sign convention: discount_total is negative (the line amount), credit_total positive (the
-- amount applied; its line is negative).
with

periods as (

    select * from {{ ref('int_billing_periods') }}

),

subtotals as (

    select * from {{ ref('int_billing_invoice_subtotals') }}

),

burns as (

    select * from {{ ref('int_billing_credit_burns') }}

),

issued as (

    select * from {{ ref('stg_ledger__issued_invoices') }}

),

issued_lines as (

    select * from {{ ref('stg_ledger__issued_invoice_lines') }}

),

unpriced as (

    select * from {{ ref('int_billing_unpriced_usage') }}

),

credits as (

    select
        invoice_id,
        cast(sum(burned) as decimal(38, 2)) as credit_total,
        cast(sum(case when kind = 'promotional' then burned else 0 end) as decimal(38, 2))
            as promotional_credit_total

    from burns
    group by invoice_id

),

issued_line_totals as (

    select
        customer_id || ':' || period as invoice_id,
        cast(sum(case when line_type = 'subscription' then amount else 0 end) as decimal(38, 2))
            as fees_total,
        cast(sum(case when line_type = 'usage' then amount else 0 end) as decimal(38, 2))
            as usage_total,
        cast(
            sum(case when line_type = 'minimum_commitment' then amount else 0 end) as decimal(38, 2)
        )
            as minimum_commitment_total,
        cast(sum(case when line_type = 'adjustment' then amount else 0 end) as decimal(38, 2))
            as adjustment_total,
        count(*) as line_count

    from issued_lines
    group by customer_id, period

),

blocks as (

    select
        invoice_id,
        'unpriced usage: ' || {{ ordered_string_agg(
            'blocked_meter', "', '", 'blocked_meter'
        ) }} as blocked_reason

    from (
        -- a billed child's unpriced usage blocks its parent's invoice (issue 22)
        select distinct
            coalesce(usage_periods.billing_invoice_id, unpriced.invoice_id) as invoice_id,
            unpriced.meter_code || ' (' || unpriced.unpriced_reason || ')' as blocked_meter

        from unpriced
        left join periods as usage_periods
            on unpriced.invoice_id = usage_periods.invoice_id
        where unpriced.blocks_close
    ) as blocked_meters
    group by invoice_id

),

open_totals as (

    select
        subtotals.invoice_id,
        subtotals.fees_total,
        subtotals.usage_total,
        subtotals.discount_total,
        subtotals.minimum_commitment_total,
        subtotals.adjustment_total,
        subtotals.subtotal,
        coalesce(credits.credit_total, 0) as credit_total,
        coalesce(credits.promotional_credit_total, 0) as promotional_credit_total,
        cast(subtotals.subtotal - coalesce(credits.credit_total, 0) as decimal(38, 2))
            as taxable_amount

    from subtotals
    left join credits
        on subtotals.invoice_id = credits.invoice_id

),

final as (

    select
        periods.invoice_id,
        periods.customer_id,
        periods.period,
        periods.period_start,
        periods.period_end,
        periods.period_index,
        periods.currency,
        periods.is_issued,
        coalesce(issued_line_totals.fees_total, open_totals.fees_total) as fees_total,
        coalesce(issued_line_totals.usage_total, open_totals.usage_total) as usage_total,
        coalesce(issued.discount_total, open_totals.discount_total) as discount_total,
        coalesce(issued_line_totals.minimum_commitment_total, open_totals.minimum_commitment_total)
            as minimum_commitment_total,
        coalesce(issued_line_totals.adjustment_total, open_totals.adjustment_total)
            as adjustment_total,
        coalesce(issued.subtotal, open_totals.subtotal) as subtotal,
        coalesce(issued.credit_total, open_totals.credit_total) as credit_total,
        open_totals.promotional_credit_total,
        cast(
            coalesce(issued.subtotal - issued.credit_total, open_totals.taxable_amount)
            as decimal(38, 2)
        ) as taxable_amount,
        periods.tax_rate,
        coalesce(
            issued.tax_total,
            {{ round_money(
                'open_totals.taxable_amount * periods.tax_rate', 'periods.currency_minor_units'
            ) }}
        ) as tax_total,
        coalesce(
            issued.total,
            cast(
                open_totals.taxable_amount
                + {{ round_money(
                    'open_totals.taxable_amount * periods.tax_rate', 'periods.currency_minor_units'
                ) }}
                as decimal(38, 2)
            )
        ) as total,
        case when periods.is_issued then 'issued' else 'draft' end as status,
        periods.invoice_number,
        not periods.is_issued and blocks.blocked_reason is not null as is_blocked,
        case when not periods.is_issued then blocks.blocked_reason end as blocked_reason

    from periods
    inner join open_totals
        on periods.invoice_id = open_totals.invoice_id
    left join issued
        on
            periods.customer_id = issued.customer_id
            and periods.period = issued.period
    left join issued_line_totals
        on periods.invoice_id = issued_line_totals.invoice_id
    left join blocks
        on periods.invoice_id = blocks.invoice_id

)

select * from final
