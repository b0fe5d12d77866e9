-- Gross margin per customer x billing period. Revenue = invoice subtotal - promotional credits
-- (paid credits were prepaid revenue); COGS = direct model cost + allocated shared cost
-- (fct_cogs_daily). margin % = margin / revenue; markup % = margin / COGS (percent, 2 places).
-- Flag: `negative` (margin < 0), `below_target` (margin % under the segment's target, var
-- margin_targets, fractions; `default` for other segments), else `ok`.
{%- set targets = var('margin_targets') %}
with

invoices as (

    select * from {{ ref('fct_invoices') }}

),

customers as (

    select * from {{ ref('stg_reference__customers') }}

),

cogs as (

    select * from {{ ref('int_cogs_periods_mapped') }}

),

cogs_by_period as (

    select
        customer_id,
        period,
        sum(case when pool_kind = 'direct' then allocated_amount else 0 end) as cogs_direct,
        sum(case when pool_kind <> 'direct' then allocated_amount else 0 end) as cogs_allocated

    from cogs
    group by customer_id, period

),

periods as (

    select
        coalesce(invoices.customer_id, cogs_by_period.customer_id) as customer_id,
        coalesce(invoices.period, cogs_by_period.period) as period,
        invoices.period_start,
        invoices.period_end,
        invoices.currency,
        coalesce(invoices.subtotal, 0) as invoice_subtotal,
        coalesce(invoices.promotional_credit_total, 0) as promotional_credit_total,
        cast(coalesce(cogs_by_period.cogs_direct, 0) as decimal(38, 2)) as cogs_direct,
        cast(coalesce(cogs_by_period.cogs_allocated, 0) as decimal(38, 2)) as cogs_allocated

    from invoices
    full outer join cogs_by_period
        on
            invoices.customer_id = cogs_by_period.customer_id
            and invoices.period = cogs_by_period.period

),

computed as (

    select
        periods.*,
        customers.segment,
        {{ round_money('periods.invoice_subtotal - periods.promotional_credit_total') }}
            as revenue,
        cast(periods.cogs_direct + periods.cogs_allocated as decimal(38, 2)) as cogs_total,
        cast(
            case coalesce(customers.segment, '')
                {%- for segment, target in targets.items() if segment != 'default' %}
                    when '{{ segment }}' then {{ target }}
                {%- endfor %}
                else {{ targets.get('default', 0) }}
            end * 100
            as decimal(9, 2)
        ) as margin_target_pct

    from periods
    left join customers on periods.customer_id = customers.customer_id

),

with_margin as (

    select
        *,
        cast(revenue - cogs_total as decimal(38, 2)) as gross_margin

    from computed

),

final as (

    select
        with_margin.customer_id || ':' || with_margin.period as margin_id,
        with_margin.customer_id,
        with_margin.period,
        with_margin.period_start,
        with_margin.period_end,
        with_margin.segment,
        coalesce(currency, 'USD') as currency,
        with_margin.invoice_subtotal,
        with_margin.promotional_credit_total,
        with_margin.revenue,
        with_margin.cogs_direct,
        with_margin.cogs_allocated,
        with_margin.cogs_total,
        with_margin.gross_margin,
        {{ margin_ratios() }},
        with_margin.margin_target_pct,
        case
            when with_margin.gross_margin < 0 then 'negative'
            when
                with_margin.revenue = 0
                or with_margin.gross_margin * 100
                < with_margin.margin_target_pct * with_margin.revenue
                then 'below_target'
            else 'ok'
        end as margin_flag

    from with_margin

)

select * from final
