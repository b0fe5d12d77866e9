-- Lines of issued invoices, exactly as issued.
with

source as (

    select * from {{ ledger_source('issued_invoice_lines') }}

),

final as (

    select
        invoice_number,
        customer_id,
        period,
        line_no,
        line_type,
        description,
        meter_code,
        dimensions,
        quantity,
        unit,
        unit_price,
        amount,
        currency,
        line_key,
        subscription_id,
        plan_code,
        plan_version,
        plan_name,
        charge_model,
        price_per,
        free_units,
        billable_quantity,
        package_size,
        price_basis,
        -- accounts (issue 22): the child whose usage the line is; NULL (issued before, or the
        -- invoice's own lines) = the invoice's customer
        coalesce(usage_customer_id, customer_id) as usage_customer_id

    from source

)

select * from final
