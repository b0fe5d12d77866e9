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
        price_basis

    from source

)

select * from final
