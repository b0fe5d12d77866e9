-- For every finished period of a draft invoice, the days of fct_customer_daily_spend add up to
-- the invoice's fees + usage + discount, to the cent. A credit plan's overage (the invoice line
-- credit_overage:<invoice_id>) is not spread over days (issue 22: not in the daily spend).
with

daily as (

    select * from {{ ref('fct_customer_daily_spend') }}

),

invoices as (

    select * from {{ ref('fct_invoices') }}

),

credit_periods as (

    select * from {{ ref('int_billing_credit_periods') }}

),

period_totals as (

    select
        customer_id || ':' || period as invoice_id,
        sum(spend) as spend,
        sum(fees) as fees,
        sum(usage_spend) as usage_spend,
        sum(discount) as discount

    from daily
    where period_end <= {{ dbt.dateadd('day', 1, 'as_of_date') }}
    group by customer_id, period

),

final as (

    select
        period_totals.*,
        invoices.fees_total,
        invoices.usage_total - coalesce(credit_periods.overage_amount, 0) as usage_total,
        invoices.discount_total

    from period_totals
    inner join invoices
        on period_totals.invoice_id = invoices.invoice_id
    left join credit_periods
        on period_totals.invoice_id = credit_periods.invoice_id
    where
        invoices.status = 'draft'
        and (
            period_totals.fees <> invoices.fees_total
            or period_totals.usage_spend
            <> invoices.usage_total - coalesce(credit_periods.overage_amount, 0)
            or period_totals.discount <> invoices.discount_total
        )

)

select * from final
