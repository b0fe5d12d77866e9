-- One row per customer of customers.csv: the name, currency, time zone and payment terms that
-- finance views show beside every number (the dashboard reads customers here, never from
-- staging). payment_terms_days (days from issue date to due date) is carried when customers.csv
-- has that column, else NULL (the due date is then not stated).
{%- set customer_columns = [] -%}
{%- if execute -%}
    {%- for column in adapter.get_columns_in_relation(ref('stg_reference__customers')) -%}
        {%- do customer_columns.append(column.name | lower) -%}
    {%- endfor -%}
{%- endif %}

with

customers as (

    select * from {{ ref('stg_reference__customers') }}

),

final as (

    select
        customer_id,
        coalesce(nullif(trim(customer_name), ''), customer_id) as customer_name,
        currency,
        timezone,
        tax_rate,
        segment,
        parent_customer_id,
        billing_email,
        {%- if 'payment_terms_days' in customer_columns %}
        cast(payment_terms_days as integer) as payment_terms_days
        {%- else %}
            cast(null as integer) as payment_terms_days
        {%- endif %}

    from customers

)

select * from final
