-- Accounts (issue 22): fct_customer_daily_spend as budgets and contracts see it. A customer's
-- budget and contract are on its account: its own days plus, on the same period and day, the
-- spend of the children billed to it (a child's own budget sees the child's days only). Read by
-- fct_spend_alerts, fct_entitlements and fct_contract_progress.
with

daily_spend as (

    select * from {{ ref('fct_customer_daily_spend') }}

),

customers as (

    select * from {{ ref('stg_reference__customers') }}

),

children as (

    select
        customers.billing_customer_id,
        daily_spend.period,
        daily_spend.spend_date,
        sum(daily_spend.spend) as spend,
        sum(daily_spend.spend_to_date) as spend_to_date

    from daily_spend
    inner join customers
        on daily_spend.customer_id = customers.customer_id
    where customers.bill_to_parent
    group by customers.billing_customer_id, daily_spend.period, daily_spend.spend_date

),

final as (

    select
        daily_spend.customer_id,
        daily_spend.period,
        daily_spend.currency,
        daily_spend.period_start,
        daily_spend.period_end,
        daily_spend.days_in_period,
        daily_spend.spend_date,
        daily_spend.as_of_date,
        daily_spend.is_anomaly,
        cast(daily_spend.spend + coalesce(children.spend, 0) as decimal(38, 2)) as spend,
        cast(daily_spend.spend_to_date + coalesce(children.spend_to_date, 0) as decimal(38, 2))
            as spend_to_date

    from daily_spend
    left join children
        on
            daily_spend.customer_id = children.billing_customer_id
            and daily_spend.period = children.period
            and daily_spend.spend_date = children.spend_date

)

select * from final
