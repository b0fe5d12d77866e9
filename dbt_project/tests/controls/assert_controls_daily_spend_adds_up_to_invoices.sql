-- For every finished period of a draft invoice, the days of fct_customer_daily_spend add up to
-- the invoice's fees + usage + discount, to the cent. Per billing account (issue 22): a parent's
-- invoice is its days plus those of the children billed to it.
with

daily as (

    select * from {{ ref('fct_customer_daily_spend') }}

),

invoices as (

    select * from {{ ref('fct_invoices') }}

),

customers as (

    select * from {{ ref('stg_reference__customers') }}

),

period_totals as (

    select
        customers.billing_customer_id || ':' || daily.period as invoice_id,
        sum(daily.spend) as spend,
        sum(daily.fees) as fees,
        sum(daily.usage_spend) as usage_spend,
        sum(daily.discount) as discount

    from daily
    inner join customers
        on daily.customer_id = customers.customer_id
    where daily.period_end <= {{ dbt.dateadd('day', 1, 'daily.as_of_date') }}
    group by customers.billing_customer_id, daily.period

),

final as (

    select
        period_totals.*,
        invoices.fees_total,
        invoices.usage_total,
        invoices.discount_total

    from period_totals
    inner join invoices
        on period_totals.invoice_id = invoices.invoice_id
    where
        invoices.status = 'draft'
        and (
            period_totals.fees <> invoices.fees_total
            or period_totals.usage_spend <> invoices.usage_total
            or period_totals.discount <> invoices.discount_total
        )

)

select * from final
