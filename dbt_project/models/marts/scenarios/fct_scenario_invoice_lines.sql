{{ config(tags=['scenarios']) }}
-- Every invoice line of every scenario period, baseline vs scenario: scenario x invoice x line
-- key. Both sides are re-rated by the same billing models (scenario mode); a line only one side
-- has is `added` or `removed` (e.g. a customer moved to another plan), the other side's
-- amount NULL. Only scenarios that have been run (results present) appear.
with

scenarios as (

    select * from {{ ref('stg_scenarios__scenarios') }}
    where scenario in (
        select scenario_rows.scenario from {{ ref('stg_scenarios__invoices') }} as scenario_rows
    )

),

lines as (

    select * from {{ ref('stg_scenarios__invoice_lines') }}

),

current_lines as (

    select
        scenarios.scenario,
        lines.invoice_id,
        lines.customer_id,
        lines.period,
        lines.line_key,
        lines.line_type,
        lines.description,
        lines.quantity,
        lines.amount

    from lines
    inner join scenarios
        on
            lines.scenario = 'current'
            and lines.period >= scenarios.period_from
            and lines.period <= scenarios.period_to

),

simulated_lines as (

    select
        lines.scenario,
        lines.invoice_id,
        lines.customer_id,
        lines.period,
        lines.line_key,
        lines.line_type,
        lines.description,
        lines.quantity,
        lines.amount

    from lines
    inner join scenarios
        on lines.scenario = scenarios.scenario

),

final as (

    select
        coalesce(simulated_lines.scenario, current_lines.scenario) || '|'
        || coalesce(simulated_lines.invoice_id, current_lines.invoice_id) || '|'
        || coalesce(simulated_lines.line_key, current_lines.line_key) as scenario_line_id,
        coalesce(simulated_lines.scenario, current_lines.scenario) as scenario,
        coalesce(simulated_lines.invoice_id, current_lines.invoice_id) as invoice_id,
        coalesce(simulated_lines.customer_id, current_lines.customer_id) as customer_id,
        coalesce(simulated_lines.period, current_lines.period) as period,
        coalesce(simulated_lines.line_key, current_lines.line_key) as line_key,
        coalesce(simulated_lines.line_type, current_lines.line_type) as line_type,
        current_lines.description as current_description,
        simulated_lines.description as simulated_description,
        current_lines.quantity as current_quantity,
        simulated_lines.quantity as simulated_quantity,
        current_lines.amount as current_amount,
        simulated_lines.amount as simulated_amount,
        cast(
            coalesce(simulated_lines.amount, 0)
            - coalesce(current_lines.amount, 0) as decimal(38, 2)
        )
            as amount_difference,
        case
            when current_lines.line_key is null then 'added'
            when simulated_lines.line_key is null then 'removed'
            when simulated_lines.amount = current_lines.amount then 'unchanged'
            else 'changed'
        end as line_change

    from current_lines
    full outer join simulated_lines
        on
            current_lines.scenario = simulated_lines.scenario
            and current_lines.invoice_id = simulated_lines.invoice_id
            and current_lines.line_key = simulated_lines.line_key

)

select * from final
