-- Credit burns per grant x invoice (PRICING.md step 5), period after period per customer.
-- Usable in a period: granted before the period ends and not expired at its end (expires_at
-- >= period end; both read in the customer's time zone). Each period burns
-- min(subtotal floored at 0, usable balance), grants in order: priority ascending, earliest
-- expires_at (none last), earliest granted_at, grant_id. An issued period burns exactly what
-- the ledger says it burned from each grant (ledger.issued_credit_burns, written at issue): one
-- ledger of issued money, so later periods start from the balances as issued, never from a
-- recomputed split. (An invoice issued before that table existed burns its issued credit_total,
-- split by the rule above.) Periods are processed in order with a recursive CTE: each balance
-- depends on earlier burns.
with {{ 'recursive' if credit_burns_recursive() }}

periods as (

    select * from {{ ref('int_billing_periods') }}

),

subtotals as (

    select * from {{ ref('int_billing_invoice_subtotals') }}

),

issued as (

    select * from {{ ref('stg_ledger__issued_invoices') }}

),

grants as (

    select * from {{ ref('int_billing_credit_grants') }}

),

ledger_burns as (

    select * from {{ ref('stg_ledger__issued_credit_burns') }}

),

ledger_invoices as (

    select distinct invoice_id from ledger_burns

),

demand as (

    select
        periods.customer_id,
        periods.period_index,
        periods.invoice_id,
        periods.period,
        cast(periods.period_end as timestamp) as period_end_at,
        cast(
            case
                when issued.invoice_number is not null then issued.credit_total
                else greatest(subtotals.subtotal, 0)
            end
            as decimal(38, 2)
        ) as credit_demand,
        issued.invoice_number is not null
        and (ledger_invoices.invoice_id is not null or issued.credit_total = 0) as is_fixed

    from periods
    inner join subtotals
        on periods.invoice_id = subtotals.invoice_id
    left join issued
        on
            periods.customer_id = issued.customer_id
            and periods.period = issued.period
    left join ledger_invoices
        on periods.invoice_id = ledger_invoices.invoice_id

),

grant_periods as (

    select
        demand.customer_id,
        demand.period_index,
        demand.invoice_id,
        demand.period,
        demand.credit_demand,
        demand.is_fixed,
        coalesce(ledger_burns.burned, 0) as ledger_burned,
        grants.grant_id,
        grants.granted_at < demand.period_end_at
        and (grants.expires_at is null or grants.expires_at >= demand.period_end_at) as is_usable,
        row_number() over (
            partition by demand.customer_id, demand.period_index
            order by
                grants.priority asc,
                grants.expires_at asc nulls last,
                grants.granted_at asc,
                grants.grant_id asc
        ) as burn_rank

    from demand
    inner join grants
        on demand.customer_id = grants.customer_id
    left join ledger_burns
        on
            demand.invoice_id = ledger_burns.invoice_id
            and grants.grant_id = ledger_burns.grant_id

),

{%- if credit_burns_recursive() %}

    burns (
        customer_id, period_index, invoice_id, period, grant_id, burn_rank, balance_before, burned,
        balance_after
    ) as (

        select
            customer_id,
            0,
            cast(null as {{ text_type() }}),
            cast(null as {{ text_type() }}),
            grant_id,
            0,
            {{ round_money('amount') }},
            cast(0 as decimal(38, 2)),
            {{ round_money('amount') }}

        from grants

        union all

        {{ credit_burn_step('burns') }}

    ),
{%- else %}
-- Spark: no window over a recursive reference; the recursion unrolled, one CTE per period index
-- (step i reads step i - 1), up to the largest period index of int_billing_periods.
{%- set max_index = credit_recursion_depth() %}
burns_0 (
    customer_id, period_index, invoice_id, period, grant_id, burn_rank, balance_before, burned,
    balance_after
) as (

    select
        customer_id,
        0,
        cast(null as {{ text_type() }}),
        cast(null as {{ text_type() }}),
        grant_id,
        0,
        {{ round_money('amount') }},
        cast(0 as decimal(38, 2)),
        {{ round_money('amount') }}

    from grants

),
{%- for i in integers_between(1, max_index) %}

burns_{{ i }} (
    customer_id, period_index, invoice_id, period, grant_id, burn_rank, balance_before, burned,
    balance_after
) as (

    {{ credit_burn_step('burns_' ~ (i - 1)) }}

),
{%- endfor %}

burns as (
    {%- for i in integers_between(0, max_index) %}
    select * from burns_{{ i }}{{ " union all" if not loop.last }}
    {%- endfor %}
),
{%- endif %}

final as (

    select
        burns.invoice_id,
        burns.customer_id,
        burns.period,
        burns.period_index,
        burns.grant_id,
        grants.kind,
        grants.priority,
        grants.granted_at,
        grants.expires_at,
        burns.burn_rank,
        burns.balance_before,
        burns.burned,
        burns.balance_after

    from burns
    inner join grants
        on burns.grant_id = grants.grant_id
    where burns.period_index > 0

)

select * from final
