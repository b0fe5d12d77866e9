-- Customers' allocated COGS (unattributed excluded) with the billing period they fall in: the
-- customer's invoice period whose [period_start, period_end) holds the UTC cost day (provider
-- days are UTC, periods are in the customer's time zone: a cost day belongs to the period of its
-- UTC date). Days outside every invoice period fall in their calendar month. Amounts in the cost
-- currency (allocated_amount) and the reporting currency (allocated_amount_reporting, NULL when
-- the day's fx rate is missing: int_cogs_converted).
-- A child billed to its parent (issue 22) keeps its own COGS rows (customer_id) and falls in the
-- periods of the invoice that carries it (its parent's).
with

allocated as (

    select * from {{ ref('int_cogs_converted') }}

),

invoices as (

    select * from {{ ref('fct_invoices') }}

),

customers as (

    select * from {{ ref('stg_reference__customers') }}

),

final as (

    select
        allocated.allocation_id,
        allocated.pool_kind,
        allocated.provider,
        allocated.cost_date,
        allocated.customer_id,
        allocated.model,
        allocated.feature,
        allocated.allocated_amount,
        allocated.cost_currency,
        allocated.reporting_currency,
        allocated.reporting_minor_units,
        allocated.fx_rate,
        allocated.fx_status,
        allocated.allocated_amount_reporting,
        coalesce(invoices.period, {{ period_of('allocated.cost_date') }}) as period

    from allocated
    left join customers
        on allocated.customer_id = customers.customer_id
    left join invoices
        on
            coalesce(customers.billing_customer_id, allocated.customer_id) = invoices.customer_id
            and allocated.cost_date >= invoices.period_start
            and allocated.cost_date < invoices.period_end
    where allocated.customer_id <> 'unattributed'

)

select * from final
