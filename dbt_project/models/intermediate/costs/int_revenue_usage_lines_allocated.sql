-- Each usage invoice line's amount split across the (provider, model, feature) rows of the daily
-- priced usage the line aggregates (same line_key as int_billing_usage_line_quantities), by
-- quantity share, cents by largest remainder (ties: provider, model, feature), so a line's parts
-- sum EXACTLY to its amount. Keys meet the COGS side: provider lower-cased, model = its
-- cost_model_key, feature as metered; '(none)' when absent.
-- A line is placed whole on ONE row (allocation_basis 'whole_line') when its quantity does not
-- add up over rows (meter aggregation max | latest | count_unique), when its rows' quantity is 0
-- (e.g. a graduated first-tier flat fee without usage) or when no priced row carries its key
-- (an issued line whose usage is gone). That row takes the line's provider / model / feature
-- when all its rows share one value, else '(none)'.
-- Issued invoices: the issued amount is split by the rows' quantities as they are now (late
-- usage included; the late difference itself is an adjustment line on a later invoice).
with

lines as (

    select * from {{ ref('fct_invoice_lines') }}
    where line_type = 'usage'

),

priced as (

    select * from {{ ref('int_billing_usage_priced') }}
    where unpriced_reason is null

),

periods as (

    select * from {{ ref('int_billing_periods') }}

),

priced_keyed as (

    select
        -- the invoice line that carries the row: a billed child's is on its parent's invoice
        periods.billing_invoice_id as invoice_id,
        {{ account_line_key(
            'priced.customer_id', 'periods.billing_customer_id', usage_line_key('priced')
        ) }} as line_key,
        priced.aggregation,
        coalesce(nullif(lower(trim(priced.provider)), ''), '(none)') as provider,
        coalesce({{ cost_model_key('priced.model') }}, '(none)') as model,
        coalesce(priced.feature, '(none)') as feature,
        priced.quantity

    from priced
    inner join periods
        on priced.customer_id || ':' || priced.period = periods.invoice_id

),

line_rows as (

    select
        invoice_id,
        line_key,
        provider,
        model,
        feature,
        any_value(aggregation) as aggregation,
        cast(sum(quantity) as decimal(38, 9)) as quantity

    from priced_keyed
    group by invoice_id, line_key, provider, model, feature

),

line_shape as (

    select
        invoice_id,
        line_key,
        any_value(aggregation) as aggregation,
        sum(quantity) as line_quantity,
        min(quantity) as min_row_quantity,
        case when min(provider) = max(provider) then min(provider) else '(none)' end as provider,
        case when min(model) = max(model) then min(model) else '(none)' end as model,
        case when min(feature) = max(feature) then min(feature) else '(none)' end as feature

    from line_rows
    group by invoice_id, line_key

),

classified as (

    select
        lines.invoice_id,
        lines.customer_id,
        lines.period,
        lines.line_key,
        lines.meter_code,
        lines.amount,
        line_shape.aggregation,
        line_shape.provider as whole_provider,
        line_shape.model as whole_model,
        line_shape.feature as whole_feature,
        coalesce(
            line_shape.aggregation in ('sum', 'count')
            and line_shape.line_quantity > 0
            and line_shape.min_row_quantity >= 0,
            false
        ) as is_split

    from lines
    left join line_shape
        on
            lines.invoice_id = line_shape.invoice_id
            and lines.line_key = line_shape.line_key

),

recipients as (

    select
        classified.invoice_id,
        classified.customer_id,
        classified.period,
        classified.line_key,
        classified.meter_code,
        classified.aggregation,
        classified.amount,
        line_rows.provider,
        line_rows.model,
        line_rows.feature,
        'quantity' as allocation_basis,
        line_rows.quantity as weight

    from classified
    inner join line_rows
        on
            classified.invoice_id = line_rows.invoice_id
            and classified.line_key = line_rows.line_key
    where classified.is_split

    union all

    select
        invoice_id,
        customer_id,
        period,
        line_key,
        meter_code,
        aggregation,
        amount,
        coalesce(whole_provider, '(none)') as provider,
        coalesce(whole_model, '(none)') as model,
        coalesce(whole_feature, '(none)') as feature,
        'whole_line' as allocation_basis,
        cast(1 as decimal(38, 9)) as weight

    from classified
    where not is_split

),

allocated as (

    {{ allocate_largest_remainder(
        'recipients', ['invoice_id', 'line_key'], 'amount', 'weight',
        'provider, model, feature', 2, 9
    ) }}

),

final as (

    select
        invoice_id || '|' || line_key || '|' || provider || '|' || model || '|' || feature
            as usage_allocation_id,
        invoice_id,
        customer_id,
        period,
        line_key,
        meter_code,
        aggregation,
        provider,
        model,
        feature,
        allocation_basis,
        case when allocation_basis = 'quantity' then weight end as quantity,
        amount as line_amount,
        allocated_amount as usage_revenue

    from allocated

)

select * from final
