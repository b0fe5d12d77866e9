-- Usage that no price matched, never billed at 0: it blocks closing the customer's period
-- (fct_invoices.is_blocked) until a price exists or an operator excludes the customer.
with

unpriced as (

    select * from {{ ref('int_billing_unpriced_usage') }}

),

final as (

    select
        unpriced_id,
        invoice_id,
        customer_id,
        period,
        meter_code,
        meter_name,
        aggregation,
        dimensions,
        subscription_id,
        plan_code,
        plan_version,
        unpriced_reason,
        event_count,
        quantity,
        unit,
        blocks_close,
        first_usage_date,
        last_usage_date

    from unpriced

)

select * from final
