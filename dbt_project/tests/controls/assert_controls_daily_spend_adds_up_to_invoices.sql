-- For every finished period of a draft invoice (finished for each customer billed on it), the
-- days of fct_customer_daily_spend add up to the invoice's fees + usage + discount, to the cent.
-- Per billing account (issue 22): a parent's invoice is its days plus those of the children
-- billed to it. A credit plan's overage (the invoice line credit_overage:<invoice_id>) is not
-- spread over days (not in the daily spend): the overage of every customer on the billing
-- account's invoice is left out of its usage.
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

periods as (

    select * from {{ ref('int_billing_periods') }}

),

credit_periods as (

    select
        periods.billing_invoice_id as invoice_id,
        sum(credit.overage_amount) as overage_amount

    from {{ ref('int_billing_credit_periods') }} as credit
    inner join periods
        on credit.invoice_id = periods.invoice_id
    group by periods.billing_invoice_id

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
    group by customers.billing_customer_id, daily.period
    -- finished for every customer on the invoice: each has its own time zone, so its own as-of
    -- day (a child in New York is a day behind its parent in Berlin at the end of a month)
    having
        min(
            case
                when daily.period_end <= {{ dbt.dateadd('day', 1, 'daily.as_of_date') }} then 1
                else 0
            end
        ) = 1

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
