-- Gross margin per customer x billing period. Revenue = invoice subtotal - promotional credits
-- (paid credits were prepaid revenue); COGS = direct model cost + allocated shared cost
-- (fct_cogs_daily). margin % = margin / revenue; markup % = margin / COGS (percent, 2 places).
-- Everything in the invoice currency: COGS (booked in USD) converted with the fx rate of each
-- cost day (int_cogs_converted). A period with a cost day without a rate has NULL COGS and
-- margin, fx_status and margin_flag saying so (never COGS of 0).
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

    -- the account roll-up (issue 22): a child billed to its parent's invoice has no revenue of
    -- its own, so its COGS count in its parent's margin (its own COGS stay in fct_cogs_daily)
    select
        coalesce(account_of.billing_customer_id, cogs.customer_id) as customer_id,
        cogs.period,
        {{ sum_or_null(
            "case when cogs.pool_kind = 'direct' then cogs.allocated_amount_reporting else 0 end"
        ) }} as cogs_direct,
        {{ sum_or_null(
            "case when cogs.pool_kind <> 'direct' then cogs.allocated_amount_reporting else 0 end"
        ) }} as cogs_allocated,
        sum(cogs.allocated_amount) as cogs_total_cost_currency,
        any_value(cogs.cost_currency) as cost_currency,
        count(distinct case when cogs.fx_status = 'missing_rate' then cogs.cost_date end)
            as missing_fx_rate_days,
        max(case when cogs.fx_status = 'converted' then 1 else 0 end) = 1 as is_converted

    from cogs
    left join customers as account_of
        on cogs.customer_id = account_of.customer_id
    group by coalesce(account_of.billing_customer_id, cogs.customer_id), cogs.period

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
        -- no COGS rows: 0; rows with a missing rate: NULL (sum_or_null), never 0
        cast(
            case when cogs_by_period.customer_id is null then 0 else cogs_by_period.cogs_direct end
            as decimal(38, 2)
        ) as cogs_direct,
        cast(
            case
                when cogs_by_period.customer_id is null then 0 else cogs_by_period.cogs_allocated
            end
            as decimal(38, 2)
        ) as cogs_allocated,
        cast(coalesce(cogs_by_period.cogs_total_cost_currency, 0) as decimal(38, 2))
            as cogs_total_cost_currency,
        coalesce(cogs_by_period.cost_currency, '{{ var("cost_currency") }}') as cost_currency,
        coalesce(cogs_by_period.missing_fx_rate_days, 0) as missing_fx_rate_days,
        case
            when coalesce(cogs_by_period.missing_fx_rate_days, 0) > 0 then 'missing_rate'
            when coalesce(cogs_by_period.is_converted, false) then 'converted'
            else 'same_currency'
        end as fx_status

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
        customers.currency as customer_currency,
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
        coalesce(currency, with_margin.customer_currency, 'USD') as currency,
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
            when with_margin.fx_status = 'missing_rate' then 'missing_fx_rate'
            when with_margin.gross_margin < 0 then 'negative'
            when
                with_margin.revenue = 0
                or with_margin.gross_margin * 100
                < with_margin.margin_target_pct * with_margin.revenue
                then 'below_target'
            else 'ok'
        end as margin_flag,
        with_margin.cost_currency,
        with_margin.cogs_total_cost_currency,
        with_margin.fx_status,
        with_margin.missing_fx_rate_days

    from with_margin

)

select * from final
