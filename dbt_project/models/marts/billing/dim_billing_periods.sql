-- One row per billing period (YYYY-MM) that has an invoice or metered usage: how far the usage
-- data reaches into it, whether it is closed (every invoice issued), complete (the data reaches
-- its last day) or incomplete (month in progress), its invoices by status, and which period a
-- finance view opens on (is_default: the latest complete period with usage, else the latest
-- period with usage, else the latest period).
with

invoices as (

    select * from {{ ref('fct_invoices') }}

),

usage as (

    select * from {{ ref('fct_usage_daily') }}

),

invoice_periods as (

    select
        period,
        min(period_start) as period_start,
        max(period_end) as period_end,
        count(*) as invoices,
        count(*) filter (where status = 'issued') as issued_invoices,
        count(*) filter (where status <> 'issued') as draft_invoices,
        count(*) filter (where is_blocked and status <> 'issued') as blocked_invoices

    from invoices
    group by period

),

usage_periods as (

    select
        period,
        min(usage_date) as usage_from,
        max(usage_date) as usage_through,
        count(distinct customer_id) as customers_with_usage

    from usage
    group by period

),

data_reach as (

    select max(usage_date) as data_through
    from usage

),

latest_issued as (

    select max(period) as latest_issued_period
    from invoices
    where status = 'issued'

),

periods as (

    select
        coalesce(invoice_periods.period, usage_periods.period) as period,
        coalesce(
            invoice_periods.period_start,
            cast(usage_periods.period || '-01' as date)
        ) as period_start,
        coalesce(
            invoice_periods.period_end,
            cast(
                {{ dbt.dateadd('month', 1, "cast(usage_periods.period || '-01' as date)") }}
                as date
            )
        ) as period_end,
        coalesce(invoice_periods.invoices, 0) as invoices,
        coalesce(invoice_periods.issued_invoices, 0) as issued_invoices,
        coalesce(invoice_periods.draft_invoices, 0) as draft_invoices,
        coalesce(invoice_periods.blocked_invoices, 0) as blocked_invoices,
        usage_periods.usage_from,
        usage_periods.usage_through,
        coalesce(usage_periods.customers_with_usage, 0) as customers_with_usage

    from invoice_periods
    full outer join usage_periods
        on invoice_periods.period = usage_periods.period

),

classified as (

    select
        periods.*,
        data_reach.data_through,
        periods.customers_with_usage > 0 as has_usage,
        periods.invoices > 0 and periods.draft_invoices = 0 as is_closed,
        (periods.invoices > 0 and periods.draft_invoices = 0)
        or coalesce(data_reach.data_through >= periods.period_end - 1, false) as is_complete,
        periods.draft_invoices > 0
        and coalesce(periods.period < latest_issued.latest_issued_period, false)
            as has_drafts_before_issued

    from periods
    cross join data_reach
    cross join latest_issued

),

ranked as (

    select
        *,
        row_number() over (
            order by has_usage and is_complete desc, has_usage desc, period desc
        ) = 1 as is_default

    from classified

),

final as (

    select
        period,
        period_start,
        period_end,
        case
            when is_closed then 'closed'
            when is_complete then 'complete'
            else 'incomplete'
        end as period_status,
        case
            when is_closed then period || ' · closed'
            when is_complete then period || ' · complete, not closed'
            when usage_through is not null
                then
                    period
                    || ' · incomplete (usage through '
                    || cast(cast(usage_through as date) as {{ text_type() }})
                    || ')'
            else period || ' · incomplete (no usage yet)'
        end as period_label,
        is_closed,
        is_complete,
        not is_complete as is_open,
        has_usage,
        usage_from,
        usage_through,
        data_through,
        customers_with_usage,
        invoices,
        issued_invoices,
        draft_invoices,
        blocked_invoices,
        has_drafts_before_issued,
        is_default

    from ranked

)

select * from final
