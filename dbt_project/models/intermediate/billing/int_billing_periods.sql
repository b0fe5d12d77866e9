-- The invoice spine: one row per customer x billing month (customer time zone), from the
-- customer's first subscription or usage month through the month, in the customer's time zone,
-- of the last event in the data (never the wall clock). Issued periods carry their number.
-- A customer whose last month is issued also gets the month after it as a draft: late usage for
-- an issued period becomes adjustment lines on the next open invoice, which must exist (else
-- the adjustment would be on no invoice). That draft carries the adjustments and the fees.
-- Accounts (issue 22): a child billed to its parent keeps its own periods (its usage and fees are
-- rated on them, in its time zone) but carries billing_invoice_id, the parent's invoice of the
-- same period, which gets its lines; the parent's spine covers its children's months, and a
-- child's period is issued when the parent's is. Invoice-level models keep is_billing_account.
with

customers as (

    select * from {{ ref('stg_reference__customers') }}

),

subscriptions as (

    select * from {{ ref('stg_reference__subscriptions') }}

),

daily as (

    select * from {{ ref('int_usage_batches_daily') }}

),

issued as (

    select * from {{ ref('stg_ledger__issued_invoices') }}

),

horizon as (

    select max(last_event_time) as last_event_time
    from daily

),

last_issued as (

    select
        customers.customer_id,
        max(issued.period_start) as last_issued_month

    from issued
    inner join customers
        on issued.customer_id = customers.billing_customer_id
    group by customers.customer_id

),

own_first_days as (

    select
        customer_id,
        min(start_date) as first_day
    from subscriptions
    group by customer_id

    union all

    select
        customer_id,
        min(usage_date) as first_day
    from daily
    group by customer_id

),

first_days as (

    select
        customer_id,
        first_day
    from own_first_days

    union all

    -- a parent's invoices start with its billed children's first month
    select
        customers.billing_customer_id as customer_id,
        own_first_days.first_day
    from own_first_days
    inner join customers
        on own_first_days.customer_id = customers.customer_id
    where customers.bill_to_parent

),

bounds as (

    select
        customers.customer_id,
        {{ month_start('min(first_days.first_day)') }} as first_month,
        greatest(
            {{ month_start(
                'cast(' ~ to_local_ts('any_value(horizon.last_event_time)', 'any_value(customers.timezone)') ~ ' as date)'
            ) }},
            coalesce(
                cast(
                    {{ dbt.dateadd('month', 1, 'any_value(last_issued.last_issued_month)') }}
                    as date
                ),
                cast('1900-01-01' as date)
            )
        ) as last_month

    from customers
    inner join first_days
        on customers.customer_id = first_days.customer_id
    left join last_issued
        on customers.customer_id = last_issued.customer_id
    cross join horizon
    group by customers.customer_id

),

spine as (

    select
        customer_id,
        {{ month_starts_between('first_month', 'last_month') }} as period_start

    from bounds
    where first_month <= last_month

),

final as (

    select
        spine.customer_id || ':' || {{ period_of('spine.period_start') }} as invoice_id,
        spine.customer_id,
        {{ period_of('spine.period_start') }} as period,
        spine.period_start,
        cast({{ dbt.dateadd('month', 1, 'spine.period_start') }} as date) as period_end,
        {{ dbt.datediff(
            'spine.period_start',
            'cast(' ~ dbt.dateadd('month', 1, 'spine.period_start') ~ ' as date)',
            'day'
        ) }}
            as days_in_period,
        {{ to_utc_ts('cast(spine.period_start as timestamp)', 'customers.timezone') }}
            as period_start_utc,
        {{ to_utc_ts(
            'cast(' ~ dbt.dateadd('month', 1, 'spine.period_start') ~ ' as timestamp)',
            'customers.timezone'
        ) }}
            as period_end_utc,
        row_number() over (partition by spine.customer_id order by spine.period_start)
            as period_index,
        customers.currency,
        customers.currency_minor_units,
        customers.timezone,
        customers.tax_rate,
        issued.invoice_number is not null as is_issued,
        issued.invoice_number,
        customers.billing_customer_id,
        customers.billing_customer_id || ':' || {{ period_of('spine.period_start') }}
            as billing_invoice_id,
        not customers.bill_to_parent as is_billing_account

    from spine
    inner join customers
        on spine.customer_id = customers.customer_id
    left join issued
        on
            customers.billing_customer_id = issued.customer_id
            and {{ period_of('spine.period_start') }} = issued.period

)

select * from final
