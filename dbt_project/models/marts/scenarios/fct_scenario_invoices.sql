{{ config(tags=['scenarios']) }}
-- Each scenario's invoices vs the baseline: scenario x customer x period, totals by line type
-- (fees, usage, discount, minimum commitment, credits, tax), current and simulated, the change of
-- the total in money and percent, and the bill-shock flag: the total rises by more than var
-- bill_shock_threshold_pct percent (or from 0 to more than 0). Both sides are re-rated by the
-- same billing models (scenario mode, ledger ignored), so for an issued period `current` is
-- today's re-rating, which differs from the issued invoice only by late usage.
{%- set threshold = var('bill_shock_threshold_pct', 20) %}
{%- set parts = ['fees_total', 'usage_total', 'discount_total', 'minimum_commitment_total',
                 'subtotal', 'credit_total', 'tax_total', 'total'] %}
with

scenarios as (

    select * from {{ ref('stg_scenarios__scenarios') }}
    where scenario in (
        select scenario_rows.scenario from {{ ref('stg_scenarios__invoices') }} as scenario_rows
    )

),

invoices as (

    select * from {{ ref('stg_scenarios__invoices') }}

),

scope as (

    select * from {{ ref('stg_scenarios__customers') }}

),

customers as (

    select * from {{ ref('stg_reference__customers') }}

),

current_invoices as (

    select
        scenarios.scenario,
        invoices.invoice_id,
        invoices.customer_id,
        invoices.period,
        invoices.currency,
        {%- for p in parts %}
            invoices.{{ p }},
        {%- endfor %}
        invoices.is_blocked,
        invoices.blocked_reason

    from invoices
    inner join scenarios
        on
            invoices.scenario = 'current'
            and invoices.period >= scenarios.period_from
            and invoices.period <= scenarios.period_to

),

simulated_invoices as (

    select invoices.*
    from invoices
    inner join scenarios
        on invoices.scenario = scenarios.scenario

),

joined as (

    select
        coalesce(simulated_invoices.scenario, current_invoices.scenario) as scenario,
        coalesce(simulated_invoices.invoice_id, current_invoices.invoice_id) as invoice_id,
        coalesce(simulated_invoices.customer_id, current_invoices.customer_id) as customer_id,
        coalesce(simulated_invoices.period, current_invoices.period) as period,
        coalesce(simulated_invoices.currency, current_invoices.currency) as currency,
        {%- for p in parts %}
            cast(coalesce(current_invoices.{{ p }}, 0) as decimal(38, 2)) as current_{{ p }},
            cast(coalesce(simulated_invoices.{{ p }}, 0) as decimal(38, 2)) as simulated_{{ p }},
        {%- endfor %}
        coalesce(current_invoices.is_blocked, false)
        or coalesce(simulated_invoices.is_blocked, false) as is_blocked,
        coalesce(simulated_invoices.blocked_reason, current_invoices.blocked_reason)
            as blocked_reason

    from current_invoices
    full outer join simulated_invoices
        on
            current_invoices.scenario = simulated_invoices.scenario
            and current_invoices.invoice_id = simulated_invoices.invoice_id

),

compared as (

    select
        joined.*,
        {%- for p in parts %}
            cast(simulated_{{ p }} - current_{{ p }} as decimal(38, 2))
                as {{ p | replace('_total', '') }}_difference,
        {%- endfor %}
        case
            when joined.current_total <> 0
                then
                    cast(
                        round(
                            {{ safe_divide(
                                '(simulated_total - current_total) * 100',
                                'current_total'
                            ) }},
                            2
                        ) as decimal(
                            18, 2
                        )
                    )
        end as total_difference_pct

    from joined

),

final as (

    select
        compared.scenario || '|' || compared.invoice_id as scenario_invoice_id,
        compared.scenario,
        compared.invoice_id,
        compared.customer_id,
        compared.period,
        customers.segment,
        scope.customer_id is not null as is_in_scope,
        compared.currency,
        {%- for p in parts %}
            compared.current_{{ p }},
            compared.simulated_{{ p }},
            compared.{{ p | replace('_total', '') }}_difference,
        {%- endfor %}
        compared.total_difference_pct,
        case
            when compared.total_difference > 0 then 'increase'
            when compared.total_difference < 0 then 'decrease'
            else 'unchanged'
        end as impact,
        cast({{ threshold }} as decimal(9, 2)) as bill_shock_threshold_pct,
        compared.total_difference > 0
        and (
            compared.current_total <= 0
            or compared.total_difference * 100 > {{ threshold }} * compared.current_total
        ) as is_bill_shock,
        compared.is_blocked,
        compared.blocked_reason

    from compared
    left join customers
        on compared.customer_id = customers.customer_id
    left join scope
        on
            compared.scenario = scope.scenario
            and compared.customer_id = scope.customer_id

)

select * from final
