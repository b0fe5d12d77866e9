-- Late usage for issued periods: per issued invoice and usage line_key, what the usage lines
-- rate now minus what was issued (and minus adjustments already issued for that line), placed
-- as an `adjustment` line on the customer's next open (not issued) invoice. When the issued
-- period had a contract usage discount, the discount follows the corrected usage: one more
-- adjustment line per issued period, -round(pct/100 x usage now) minus the discount as issued
-- (minus discount adjustments already issued), so +10.00 of late usage under a 10% discount
-- nets +9.00 and the -1.00 is shown on its own line (key adjustment:<period>:discount:<contract>).
with

periods as (

    select * from {{ ref('int_billing_periods') }}

),

rated as (

    select * from {{ ref('int_billing_rated_lines') }}
    where line_type = 'usage'

),

issued_lines as (

    select * from {{ ref('stg_ledger__issued_invoice_lines') }}

),

issued_invoices as (

    select * from {{ ref('stg_ledger__issued_invoices') }}

),

contract_periods as (

    select * from {{ ref('int_billing_contract_periods') }}

),

issued_periods as (

    select * from periods
    where is_issued

),

current_usage as (

    select rated.*
    from rated
    inner join issued_periods
        on rated.invoice_id = issued_periods.invoice_id

),

issued_usage as (

    select
        customer_id || ':' || period as invoice_id,
        customer_id,
        period,
        line_key,
        meter_code,
        dimensions,
        quantity,
        amount

    from issued_lines
    where line_type = 'usage'

),

already_adjusted as (

    select
        customer_id,
        line_key as adjustment_key,
        sum(quantity) as quantity,
        sum(amount) as amount

    from issued_lines
    where line_type = 'adjustment'
    group by customer_id, line_key

),

differences as (

    select
        coalesce(current_usage.customer_id, issued_usage.customer_id) as customer_id,
        coalesce(current_usage.period, issued_usage.period) as source_period,
        coalesce(current_usage.line_key, issued_usage.line_key) as source_line_key,
        coalesce(current_usage.meter_code, issued_usage.meter_code) as meter_code,
        coalesce(current_usage.dimensions, issued_usage.dimensions) as dimensions,
        coalesce(current_usage.description, issued_usage.meter_code) as source_description,
        coalesce(current_usage.unit, 'unit') as unit,
        coalesce(current_usage.quantity, 0) - coalesce(issued_usage.quantity, 0) as quantity,
        coalesce(current_usage.amount, 0) - coalesce(issued_usage.amount, 0) as amount

    from current_usage
    full outer join issued_usage
        on
            current_usage.invoice_id = issued_usage.invoice_id
            and current_usage.line_key = issued_usage.line_key

),

outstanding as (

    select
        differences.customer_id,
        differences.source_period,
        differences.source_line_key,
        'adjustment:' || differences.source_period || ':' || differences.source_line_key
            as line_key,
        differences.meter_code,
        differences.dimensions,
        differences.source_description,
        differences.unit,
        cast(differences.quantity - coalesce(already_adjusted.quantity, 0) as decimal(38, 9))
            as quantity,
        cast(differences.amount - coalesce(already_adjusted.amount, 0) as decimal(38, 2))
            as amount

    from differences
    left join already_adjusted
        on
            differences.customer_id = already_adjusted.customer_id
            and 'adjustment:' || differences.source_period || ':' || differences.source_line_key
            = already_adjusted.adjustment_key

),

current_usage_totals as (

    select
        invoice_id,
        sum(amount) as usage_total

    from current_usage
    group by invoice_id

),

discount_differences as (

    select
        issued_periods.customer_id,
        issued_periods.period as source_period,
        'discount:' || contract_periods.contract_id as source_line_key,
        'adjustment:' || issued_periods.period || ':discount:' || contract_periods.contract_id
            as line_key,
        contract_periods.usage_discount_pct,
        coalesce(current_usage_totals.usage_total, 0) as usage_total,
        -{{ round_money(
            'coalesce(current_usage_totals.usage_total, 0) * contract_periods.usage_discount_pct * cast(0.01 as decimal(3, 2))'
        ) }} - coalesce(issued_invoices.discount_total, 0) as amount

    from issued_periods
    inner join contract_periods
        on issued_periods.invoice_id = contract_periods.invoice_id
    left join current_usage_totals
        on issued_periods.invoice_id = current_usage_totals.invoice_id
    left join issued_invoices
        on
            issued_periods.customer_id = issued_invoices.customer_id
            and issued_periods.period = issued_invoices.period
    where contract_periods.usage_discount_pct <> 0

),

outstanding_discounts as (

    select
        discount_differences.customer_id,
        discount_differences.source_period,
        discount_differences.source_line_key,
        discount_differences.line_key,
        cast(null as varchar) as meter_code,
        cast(null as varchar) as dimensions,
        'Discount ' || cast(cast(discount_differences.usage_discount_pct as decimal(9, 2)) as varchar)
        || '% of usage now ' || cast(cast(discount_differences.usage_total as decimal(38, 2)) as varchar)
        || ' (contract discount on the late usage)' as source_description,
        cast(null as varchar) as unit,
        cast(null as decimal(38, 9)) as quantity,
        cast(discount_differences.amount - coalesce(already_adjusted.amount, 0) as decimal(38, 2))
            as amount

    from discount_differences
    left join already_adjusted
        on
            discount_differences.customer_id = already_adjusted.customer_id
            and discount_differences.line_key = already_adjusted.adjustment_key

),

all_outstanding as (

    select * from outstanding
    where amount <> 0 or quantity <> 0

    union all

    select * from outstanding_discounts
    where amount <> 0

),

targets as (

    select
        all_outstanding.customer_id,
        all_outstanding.source_period,
        all_outstanding.source_line_key,
        all_outstanding.line_key,
        all_outstanding.meter_code,
        all_outstanding.dimensions,
        all_outstanding.source_description,
        all_outstanding.unit,
        all_outstanding.quantity,
        all_outstanding.amount,
        min(periods.period) as target_period

    from all_outstanding
    inner join periods
        on
            all_outstanding.customer_id = periods.customer_id
            and periods.period > all_outstanding.source_period
            and not periods.is_issued
    group by
        all_outstanding.customer_id,
        all_outstanding.source_period,
        all_outstanding.source_line_key,
        all_outstanding.line_key,
        all_outstanding.meter_code,
        all_outstanding.dimensions,
        all_outstanding.source_description,
        all_outstanding.unit,
        all_outstanding.quantity,
        all_outstanding.amount

),

final as (

    select
        customer_id || ':' || target_period as invoice_id,
        customer_id,
        target_period as period,
        line_key,
        'adjustment' as line_type,
        'Late usage for ' || source_period || ': ' || source_description as description,
        meter_code,
        dimensions,
        quantity,
        unit,
        cast(null as decimal(38, 12)) as unit_price,
        amount,
        source_period,
        source_line_key

    from targets

)

select * from final
