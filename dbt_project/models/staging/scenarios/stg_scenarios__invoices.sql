{{ config(tags=['scenarios']) }}
-- Invoices re-rated by the billing models in scenario mode: the baseline (scenario 'current':
-- today's reference, ledger ignored) and each scenario, over the scenario's periods.
with

source as (

    select * from {{ source('scenario_results', 'invoices') }}

),

final as (

    select
        scenario,
        invoice_id,
        customer_id,
        period,
        period_start,
        period_end,
        currency,
        fees_total,
        usage_total,
        discount_total,
        minimum_commitment_total,
        subtotal,
        credit_total,
        promotional_credit_total,
        tax_total,
        total,
        is_blocked,
        blocked_reason

    from source

)

select * from final
