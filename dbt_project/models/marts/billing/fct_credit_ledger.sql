-- The credit ledger: one entry per grant (+amount at granted_at), per burn (-amount, on the
-- invoice that used it, at the period's end) and per expiry (-the balance left at expires_at,
-- recorded once expires_at is within the data's horizon). Running balances per grant and per
-- customer follow a total order (entry time, entry type, grant, period).
-- Credit plans (issue 22) add entries in credit units (unit = credits; money entries have unit
-- money): per period the allowance granted, the credits rolled over in (informational: already
-- in the balance), each pack granted (amount = its price paid), the credits drawn from each
-- source (plan or pack), the overage (credits consumed beyond every source, informational;
-- amount = the money billed for it), the plan credits forfeited above the rollover cap, and
-- each pack's balance at its expiry. credit_balance_after is the customer's credit-unit
-- balance; money balances stay over money entries only.
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

credit_periods as (

    select * from {{ ref('int_billing_credit_periods') }}

),

credit_draws as (

    select * from {{ ref('int_billing_credit_draws') }}

),

packs as (

    select * from {{ ref('stg_reference__credit_grants') }}
    where unit = 'credits'

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
        {{ round_money('amount') }} as amount,
        'money' as unit,
        cast(null as decimal(38, 6)) as credits

    from grants

    union all

    select
        customer_id,
        grant_id,
        entry_type,
        entry_at,
        period,
        invoice_id,
        amount,
        'money' as unit,
        cast(null as decimal(38, 6)) as credits

    from burn_entries

    union all

    select
        grants.customer_id,
        grants.grant_id,
        'expiry' as entry_type,
        grants.expires_at as entry_at,
        cast(null as {{ text_type() }}) as period,
        cast(null as {{ text_type() }}) as invoice_id,
        -last_balances.balance_at_expiry as amount,
        'money' as unit,
        cast(null as decimal(38, 6)) as credits

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

plan_movements as (

    select 'credit_allowance' as entry_type
    union all
    select 'credit_rollover_in' as entry_type
    union all
    select 'credit_overage' as entry_type
    union all
    select 'credit_forfeited' as entry_type

),

plan_entries as (

    select
        credit_periods.customer_id,
        'plan:' || credit_periods.customer_id as grant_id,
        movements.entry_type,
        case
            when movements.entry_type in ('credit_allowance', 'credit_rollover_in')
                then cast(periods.period_start as timestamp)
            else cast(periods.period_end as timestamp)
        end as entry_at,
        credit_periods.period,
        credit_periods.invoice_id,
        case
            when movements.entry_type = 'credit_overage' then credit_periods.overage_amount
            else cast(0 as decimal(38, 2))
        end as amount,
        'credits' as unit,
        cast(
            case movements.entry_type
                when 'credit_allowance' then credit_periods.allowance_granted
                when 'credit_rollover_in' then credit_periods.rollover_in
                when 'credit_overage' then credit_periods.overage_credits
                else -credit_periods.forfeited
            end
            as decimal(38, 6)
        ) as credits

    from credit_periods
    inner join periods
        on credit_periods.invoice_id = periods.invoice_id
    cross join plan_movements as movements
    where
        case movements.entry_type
            when 'credit_allowance' then credit_periods.allowance_granted
            when 'credit_rollover_in' then credit_periods.rollover_in
            when 'credit_overage' then credit_periods.overage_credits
            else credit_periods.forfeited
        end
        <> 0

),

credit_entries as (

    select * from plan_entries

    union all

    -- the credits drawn from each source (the plan, or a pack) in a period
    select
        credit_draws.customer_id,
        case
            when credit_draws.source_kind = 'plan' then 'plan:' || credit_draws.customer_id
            else credit_draws.source_id
        end as grant_id,
        'credit_drawn' as entry_type,
        cast(periods.period_end as timestamp) as entry_at,
        credit_draws.period,
        credit_draws.invoice_id,
        cast(0 as decimal(38, 2)) as amount,
        'credits' as unit,
        -credit_draws.drawn as credits

    from credit_draws
    inner join periods
        on credit_draws.invoice_id = periods.invoice_id
    where credit_draws.drawn <> 0

    union all

    select
        customer_id,
        grant_id,
        'credit_pack' as entry_type,
        granted_at as entry_at,
        cast(null as {{ text_type() }}) as period,
        cast(null as {{ text_type() }}) as invoice_id,
        {{ round_money('coalesce(price_paid, 0)') }} as amount,
        'credits' as unit,
        {{ round_credits('amount') }} as credits

    from packs

    union all

    -- a pack's balance at its expiry, in the period its expires_at falls in
    select
        credit_draws.customer_id,
        credit_draws.source_id as grant_id,
        'credit_expired' as entry_type,
        packs.expires_at as entry_at,
        credit_draws.period,
        cast(null as {{ text_type() }}) as invoice_id,
        cast(0 as decimal(38, 2)) as amount,
        'credits' as unit,
        -credit_draws.balance_before as credits

    from credit_draws
    inner join packs
        on credit_draws.source_id = packs.grant_id
    inner join periods
        on credit_draws.invoice_id = periods.invoice_id
    where
        packs.expires_at >= cast(periods.period_start as timestamp)
        and packs.expires_at < cast(periods.period_end as timestamp)
        and credit_draws.balance_before > 0

),

all_entries as (

    select * from entries

    union all

    select * from credit_entries

),

final as (

    select
        entries.entry_type || ':' || entries.grant_id
        || coalesce(':' || entries.period, '') as ledger_entry_id,
        entries.customer_id,
        entries.grant_id,
        coalesce(grants.kind, case when packs.grant_id is not null then packs.kind else 'plan' end)
            as kind,
        coalesce(grants.priority, packs.priority) as priority,
        entries.entry_type,
        entries.entry_at,
        entries.period,
        entries.invoice_id,
        cast(entries.amount as decimal(38, 2)) as amount,
        case when entries.unit = 'money' then cast(sum(entries.amount) over (
            partition by entries.grant_id, entries.unit
            order by
                entries.entry_at,
                case entries.entry_type when 'grant' then 1 when 'burn' then 2 else 3 end,
                entries.period
            rows between unbounded preceding and current row
        ) as decimal(38, 2)) end as grant_balance_after,
        case when entries.unit = 'money' then cast(sum(entries.amount) over (
            partition by entries.customer_id, entries.unit
            order by
                entries.entry_at,
                case entries.entry_type when 'grant' then 1 when 'burn' then 2 else 3 end,
                entries.grant_id,
                entries.period
            rows between unbounded preceding and current row
        ) as decimal(38, 2)) end as customer_balance_after,
        coalesce(customers.currency, 'USD') as currency,
        entries.unit,
        entries.credits,
        -- the customer's credit units after the entry (rolled-over and overage entries are
        -- informational: they do not move the balance)
        case when entries.unit = 'credits' then cast(sum(
            case
                when entries.entry_type in ('credit_rollover_in', 'credit_overage') then 0
                else entries.credits
            end
        ) over (
            partition by entries.customer_id, entries.unit
            order by
                entries.entry_at,
                entries.period,
                case entries.entry_type
                    when 'credit_pack' then 1
                    when 'credit_allowance' then 2
                    when 'credit_rollover_in' then 3
                    when 'credit_drawn' then 4
                    when 'credit_overage' then 5
                    when 'credit_forfeited' then 6
                    else 7
                end,
                entries.grant_id
            rows between unbounded preceding and current row
        ) as decimal(38, 6)) end as credit_balance_after

    from all_entries as entries
    left join grants
        on entries.grant_id = grants.grant_id
    left join packs
        on entries.grant_id = packs.grant_id
    left join customers
        on entries.customer_id = customers.customer_id

)

select * from final
