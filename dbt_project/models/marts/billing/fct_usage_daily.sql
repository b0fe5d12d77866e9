-- Metered usage per customer x meter x every event dimension x local day (customer time zone).
-- A view over int_billing_usage_priced (the metered rows with their price match, one row per
-- metered row): the rows exist once (10M-event builds copy nothing).
{{ config(materialized='view') }}

with

metered as (

    select * from {{ ref('int_billing_usage_priced') }}

),

final as (

    select
        usage_daily_id,
        customer_id,
        meter_code,
        meter_name,
        aggregation,
        unit,
        usage_date,
        period,
        event_type,
        dimensions,
        {%- for dim in usage_dimension_fields() %}
            {{ dim }},
        {%- endfor %}
        event_count,
        quantity,
        first_event_time,
        last_event_time,
        extra_dimensions

    from metered

)

select * from final
