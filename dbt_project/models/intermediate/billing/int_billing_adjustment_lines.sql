-- Late usage for issued periods: per issued invoice and usage line_key, what the usage lines
-- rate now minus what was issued (and minus adjustments already issued for that line), placed
-- as an `adjustment` line on the customer's next open (not issued) invoice.
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

targets as (

    select
        outstanding.*,
        min(periods.period) as target_period

    from outstanding
    inner join periods
        on
            outstanding.customer_id = periods.customer_id
            and periods.period > outstanding.source_period
            and not periods.is_issued
    where outstanding.amount <> 0 or outstanding.quantity <> 0
    group by all

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
