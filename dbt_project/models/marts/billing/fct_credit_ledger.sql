-- The credit ledger: one entry per grant (+amount at granted_at), per burn (-amount, on the
-- invoice that used it, at the period's end) and per expiry (-the balance left at expires_at,
-- recorded once expires_at is within the data's horizon). Running balances per grant and per
-- customer follow a total order (entry time, entry type, grant, period).
with

grants as (

    select * from {{ ref('int_billing_credit_grants') }}

),

burns as (

    select * from {{ ref('int_billing_credit_burns') }}

),

periods as (

    select * from {{ ref('int_billing_periods') }}

),

customers as (

    select * from {{ ref('stg_reference__customers') }}

),

horizon as (

    select
        customer_id,
        max(cast(period_end as timestamp)) as horizon_at

    from periods
    group by customer_id

),

burn_entries as (

    select
        burns.customer_id,
        burns.grant_id,
        'burn' as entry_type,
        cast(periods.period_end as timestamp) as entry_at,
        burns.period,
        burns.invoice_id,
        -burns.burned as amount,
        burns.balance_after

    from burns
    inner join periods
        on burns.invoice_id = periods.invoice_id
    where burns.burned <> 0

),

last_balances as (

    select
        grants.grant_id,
        coalesce(
            {{ arg_max_by(
                'burns.balance_after', ['burns.period_index'],
                'cast(periods.period_end as timestamp) <= grants.expires_at'
            ) }},
            {{ round_money('any_value(grants.amount)') }}
        ) as balance_at_expiry

    from grants
    left join burns
        on grants.grant_id = burns.grant_id
    left join periods
        on burns.invoice_id = periods.invoice_id
    group by grants.grant_id

),

entries as (

    select
        customer_id,
        grant_id,
        'grant' as entry_type,
        granted_at as entry_at,
        cast(null as {{ text_type() }}) as period,
        cast(null as {{ text_type() }}) as invoice_id,
        {{ round_money('amount') }} as amount

    from grants

    union all

    select
        customer_id,
        grant_id,
        entry_type,
        entry_at,
        period,
        invoice_id,
        amount

    from burn_entries

    union all

    select
        grants.customer_id,
        grants.grant_id,
        'expiry' as entry_type,
        grants.expires_at as entry_at,
        cast(null as {{ text_type() }}) as period,
        cast(null as {{ text_type() }}) as invoice_id,
        -last_balances.balance_at_expiry as amount

    from grants
    inner join last_balances
        on grants.grant_id = last_balances.grant_id
    inner join horizon
        on grants.customer_id = horizon.customer_id
    where
        grants.expires_at is not null
        and grants.expires_at <= horizon.horizon_at
        and last_balances.balance_at_expiry > 0

),

final as (

    select
        entries.entry_type || ':' || entries.grant_id
        || coalesce(':' || entries.period, '') as ledger_entry_id,
        entries.customer_id,
        entries.grant_id,
        grants.kind,
        grants.priority,
        entries.entry_type,
        entries.entry_at,
        entries.period,
        entries.invoice_id,
        cast(entries.amount as decimal(38, 2)) as amount,
        cast(sum(entries.amount) over (
            partition by entries.grant_id
            order by
                entries.entry_at,
                case entries.entry_type when 'grant' then 1 when 'burn' then 2 else 3 end,
                entries.period
            rows between unbounded preceding and current row
        ) as decimal(38, 2)) as grant_balance_after,
        cast(sum(entries.amount) over (
            partition by entries.customer_id
            order by
                entries.entry_at,
                case entries.entry_type when 'grant' then 1 when 'burn' then 2 else 3 end,
                entries.grant_id,
                entries.period
            rows between unbounded preceding and current row
        ) as decimal(38, 2)) as customer_balance_after,
        coalesce(customers.currency, 'USD') as currency

    from entries
    inner join grants
        on entries.grant_id = grants.grant_id
    left join customers
        on entries.customer_id = customers.customer_id

)

select * from final
