-- A finished monthly commitment window's shortfall is exactly the minimum-commitment line the
-- rating engine put on that period's (draft) invoice: both are commit - (fees + usage + discount).
with

progress as (

    select * from {{ ref('fct_contract_progress') }}

),

invoices as (

    select * from {{ ref('fct_invoices') }}

),

contract_periods as (

    select * from {{ ref('int_billing_contract_periods') }}

),

finished as (

    select progress.*
    from progress
    inner join contract_periods
        on
            progress.customer_id = contract_periods.customer_id
            and progress.period = contract_periods.period
            and progress.contract_id = contract_periods.contract_id
    where
        progress.commit_period = 'month'
        and progress.window_start = progress.period_start
        and progress.window_end = progress.period_end
        and progress.remaining_days = 0
        and progress.evaluation_date = {{ dbt.dateadd('day', -1, 'progress.period_end') }}

),

final as (

    select
        finished.contract_period_id,
        finished.projected_shortfall,
        invoices.minimum_commitment_total

    from finished
    inner join invoices
        on finished.customer_id || ':' || finished.period = invoices.invoice_id
    where
        invoices.status = 'draft'
        and finished.projected_shortfall <> invoices.minimum_commitment_total

)

select * from final
