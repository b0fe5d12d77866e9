{{ config(tags=['scenarios']) }}
-- The bill shocks of each scenario: customer x period whose total would rise by more than var
-- bill_shock_threshold_pct percent (fct_scenario_invoices.is_bill_shock), largest rise first.
with

invoices as (

    select * from {{ ref('fct_scenario_invoices') }}

),

final as (

    select
        scenario_invoice_id,
        scenario,
        invoice_id,
        customer_id,
        period,
        segment,
        currency,
        current_total,
        simulated_total,
        total_difference,
        total_difference_pct,
        bill_shock_threshold_pct,
        row_number() over (
            partition by scenario, period
            order by total_difference desc, customer_id asc
        ) as shock_rank

    from invoices
    where is_bill_shock

)

select * from final
