-- Revenue recognition per customer x month (issue 17); the rule is in _billing__models.yml.
-- billed = invoiced (subtotal - credits applied: what the invoices charge, before tax)
--          + prepaid (paid credit grants and account credit, when granted)
--          - credited (credit notes issued in the month, before tax);
-- recognized = subtotal (usage, fees, commitments, discounts, adjustments: the period served)
--          - promotional credits burned + breakage (paid credit expired unused) - credited;
-- deferred = the paid and account-credit balances left in fct_credit_ledger at month end.
-- opening deferred + billed - recognized = closing deferred (assert_revenue_schedule_reconciles:
-- the balances come from the credit ledger, billed and recognized from the invoices).
with

invoices as (

    select * from {{ ref('fct_invoices') }}

),

credit_ledger as (

    select * from {{ ref('fct_credit_ledger') }}
    -- money grants only: credit-plan entries (unit credits) are credit units
    where kind = 'paid' and unit = 'money'

),

credit_notes as (

    select * from {{ ref('fct_credit_notes') }}

),

customers as (

    select * from {{ ref('stg_reference__customers') }}

),

ledger_months as (

    select
        customer_id,
        coalesce(period, {{ period_of('entry_at') }}) as month,
        sum(case when entry_type = 'grant' then amount else 0 end) as prepaid,
        sum(case when entry_type = 'expiry' then -amount else 0 end) as breakage,
        sum(amount) as deferred_change

    from credit_ledger
    group by customer_id, coalesce(period, {{ period_of('entry_at') }})

),

invoice_months as (

    select
        customer_id,
        period as month,
        sum(subtotal) as subtotal,
        sum(subtotal - credit_total) as invoiced,
        sum(promotional_credit_total) as promotional_credit

    from invoices
    group by customer_id, period

),

note_months as (

    select
        customer_id,
        {{ period_of('issued_at') }} as month,
        sum(amount) as credited

    from credit_notes
    group by customer_id, {{ period_of('issued_at') }}

),

months as (

    select
        customer_id,
        month
    from ledger_months
    union
    select
        customer_id,
        month
    from invoice_months
    union
    select
        customer_id,
        month
    from note_months

),

joined as (

    select
        months.customer_id,
        months.month,
        cast(coalesce(invoice_months.invoiced, 0) as decimal(38, 2)) as invoiced,
        cast(coalesce(ledger_months.prepaid, 0) as decimal(38, 2)) as prepaid_billed,
        cast(coalesce(note_months.credited, 0) as decimal(38, 2)) as credited,
        cast(coalesce(invoice_months.subtotal, 0) as decimal(38, 2)) as service_revenue,
        cast(coalesce(invoice_months.promotional_credit, 0) as decimal(38, 2))
            as promotional_credit,
        cast(coalesce(ledger_months.breakage, 0) as decimal(38, 2)) as breakage,
        cast(coalesce(ledger_months.deferred_change, 0) as decimal(38, 2)) as deferred_change

    from months
    left join invoice_months
        on months.customer_id = invoice_months.customer_id and months.month = invoice_months.month
    left join ledger_months
        on months.customer_id = ledger_months.customer_id and months.month = ledger_months.month
    left join note_months
        on months.customer_id = note_months.customer_id and months.month = note_months.month

),

final as (

    select
        joined.customer_id,
        joined.month,
        coalesce(customers.currency, 'USD') as currency,
        cast(
            sum(joined.deferred_change) over (
                partition by joined.customer_id
                order by joined.month
                rows between unbounded preceding and 1 preceding
            ) as decimal(38, 2)
        ) as deferred_opening,
        joined.invoiced,
        joined.prepaid_billed,
        joined.credited,
        cast(joined.invoiced + joined.prepaid_billed - joined.credited as decimal(38, 2))
            as billed,
        joined.service_revenue,
        joined.promotional_credit,
        joined.breakage,
        cast(
            joined.service_revenue - joined.promotional_credit + joined.breakage - joined.credited
            as decimal(38, 2)
        ) as recognized,
        cast(
            sum(joined.deferred_change) over (
                partition by joined.customer_id
                order by joined.month
                rows between unbounded preceding and current row
            ) as decimal(38, 2)
        ) as deferred_closing

    from joined
    left join customers
        on joined.customer_id = customers.customer_id

)

select
    customer_id,
    month,
    currency,
    coalesce(deferred_opening, cast(0 as decimal(38, 2))) as deferred_opening,
    invoiced,
    prepaid_billed,
    credited,
    billed,
    service_revenue,
    promotional_credit,
    breakage,
    recognized,
    deferred_closing

from final
