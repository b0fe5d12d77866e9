with

source as (

    select * from {{ source('raw', 'customers') }}

),

final as (

    select
        trim(customer_id) as customer_id,
        name as customer_name,
        upper(coalesce(nullif(trim(currency), ''), 'USD')) as currency,
        -- ISO 4217 exponent of the invoice currency: amounts round to it (JPY 0, USD 2)
        {{ currency_minor_units("upper(coalesce(nullif(trim(currency), ''), 'USD'))") }}
            as currency_minor_units,
        coalesce(nullif(trim(timezone), ''), 'UTC') as timezone,
        cast(coalesce(nullif(trim(tax_rate), ''), '0') as decimal(9, 6)) as tax_rate,
        nullif(trim(segment), '') as segment,
        nullif(trim(parent_customer_id), '') as parent_customer_id,
        -- accounts (issue 22): billed on the parent's invoice (customers.csv bill_to_parent;
        -- empty = false; only with a parent). billing_customer_id: whose invoice carries it.
        coalesce(lower(trim(bill_to_parent)) = 'true', false)
        and nullif(trim(parent_customer_id), '') is not null as bill_to_parent,
        case
            when
                lower(trim(bill_to_parent)) = 'true'
                and nullif(trim(parent_customer_id), '') is not null
                then trim(parent_customer_id)
            else trim(customer_id)
        end as billing_customer_id,
        nullif(trim(billing_email), '') as billing_email,
        -- days from the invoice's issue date to its due date; empty = the default
        cast(
            coalesce(
                nullif(trim(payment_terms_days), ''), '{{ var("default_payment_terms_days") }}'
            )
            as integer
        ) as payment_terms_days

    from source

)

select * from final
