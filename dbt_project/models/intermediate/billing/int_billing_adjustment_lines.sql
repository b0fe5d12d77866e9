-- Corrections for issued periods (issue 17): late usage (or any change to an issued period's
-- rating) nets out. Per issued period and charge: (the period re-rated now, under the same
-- contract discount, minimum commitment and fees as issued) - (what was issued) - (adjustments
-- already issued for that charge), placed on the customer's next open (not issued) invoice as
-- `adjustment` lines that name the period and the charge they correct:
-- - usage lines, per line_key: usage now - usage as issued;
-- - the contract usage discount: -round(pct/100 x usage now) - the discount as issued
--   (key adjustment:<period>:discount:<contract>);
-- - a monthly minimum commitment: max(0, commit - (fees as issued + usage now + discount now))
--   - the commitment as issued (key adjustment:<period>:minimum_commitment:<contract>): a
--   shortfall absorbs late usage, so +10.00 of late usage under a 10% discount and a shortfall
--   is +10.00, -1.00 and -9.00: 0.00 to pay.
-- Adjustments are charges before credits and tax: on the next invoice they join its subtotal,
-- which credits (from the balances the issued periods left) and tax then apply to. Credits
-- applied on an issued invoice are never re-applied. A term commitment's true-up is not
-- re-rated here (its last period is corrected only for usage and discount).
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
    where is_issued and is_billing_account

),

current_usage as (

    select rated.*
    from rated
    inner join issued_periods
        on rated.invoice_id = issued_periods.invoice_id

),

issued_usage as (

    select
        customer_id,
        period,
        line_key,
        meter_code,
        dimensions,
        quantity,
        amount,
        customer_id || ':' || period as invoice_id

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
        contract_periods.usage_discount_pct,
        'discount:' || contract_periods.contract_id as source_line_key,
        'adjustment:' || issued_periods.period || ':discount:' || contract_periods.contract_id
            as line_key,
        coalesce(current_usage_totals.usage_total, 0) as usage_total,
        -{{ round_money(
            'coalesce(current_usage_totals.usage_total, 0) * contract_periods.usage_discount_pct * cast(0.01 as decimal(3, 2))',
            'issued_periods.currency_minor_units'
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
        cast(null as {{ text_type() }}) as meter_code,
        cast(null as {{ text_type() }}) as dimensions,
        'Discount '
        || cast(cast(discount_differences.usage_discount_pct as decimal(9, 2)) as {{ text_type() }})
        || '% of usage now '
        || cast(cast(discount_differences.usage_total as decimal(38, 2)) as {{ text_type() }})
        || ' (contract discount on the late usage)' as source_description,
        cast(null as {{ text_type() }}) as unit,
        cast(null as decimal(38, 9)) as quantity,
        cast(discount_differences.amount - coalesce(already_adjusted.amount, 0) as decimal(38, 2))
            as amount

    from discount_differences
    left join already_adjusted
        on
            discount_differences.customer_id = already_adjusted.customer_id
            and discount_differences.line_key = already_adjusted.adjustment_key

),

issued_charge_totals as (

    select
        customer_id,
        period,
        cast(sum(case when line_type = 'subscription' then amount else 0 end) as decimal(38, 2))
            as fees_total,
        cast(
            sum(case when line_type = 'minimum_commitment' then amount else 0 end)
            as decimal(38, 2)
        ) as minimum_commitment_total

    from issued_lines
    group by customer_id, period

),

commitment_differences as (

    select
        issued_periods.customer_id,
        issued_periods.period as source_period,
        contract_periods.contract_id,
        contract_periods.commit_amount,
        coalesce(issued_charge_totals.fees_total, 0)
        + coalesce(current_usage_totals.usage_total, 0)
        - {{ round_money(
            'coalesce(current_usage_totals.usage_total, 0) * coalesce(contract_periods.usage_discount_pct, 0) * cast(0.01 as decimal(3, 2))',
            'issued_periods.currency_minor_units'
        ) }} as committed_spend_now,
        coalesce(issued_charge_totals.minimum_commitment_total, 0) as issued_commitment

    from issued_periods
    inner join contract_periods
        on issued_periods.invoice_id = contract_periods.invoice_id
    left join current_usage_totals
        on issued_periods.invoice_id = current_usage_totals.invoice_id
    left join issued_charge_totals
        on
            issued_periods.customer_id = issued_charge_totals.customer_id
            and issued_periods.period = issued_charge_totals.period
    where contract_periods.commit_period = 'month' and contract_periods.commit_amount > 0

),

outstanding_commitments as (

    select
        commitment_differences.customer_id,
        commitment_differences.source_period,
        'minimum_commitment:' || commitment_differences.contract_id as source_line_key,
        'adjustment:' || commitment_differences.source_period || ':minimum_commitment:'
        || commitment_differences.contract_id as line_key,
        cast(null as {{ text_type() }}) as meter_code,
        cast(null as {{ text_type() }}) as dimensions,
        'Minimum commitment '
        || cast(cast(commitment_differences.commit_amount as decimal(38, 2)) as {{ text_type() }})
        || ' - '
        || cast(
            cast(commitment_differences.committed_spend_now as decimal(38, 2)) as {{ text_type() }}
        )
        || ' now (the commitment shortfall absorbs the late usage)' as source_description,
        cast(null as {{ text_type() }}) as unit,
        cast(null as decimal(38, 9)) as quantity,
        cast(
            greatest(
                commitment_differences.commit_amount - commitment_differences.committed_spend_now, 0
            )
            - commitment_differences.issued_commitment
            - coalesce(already_adjusted.amount, 0)
            as decimal(38, 2)
        ) as amount

    from commitment_differences
    left join already_adjusted
        on
            commitment_differences.customer_id = already_adjusted.customer_id
            and 'adjustment:' || commitment_differences.source_period || ':minimum_commitment:'
            || commitment_differences.contract_id = already_adjusted.adjustment_key

),

all_outstanding as (

    select * from outstanding
    where amount <> 0 or quantity <> 0

    union all

    select * from outstanding_discounts
    where amount <> 0

    union all

    select * from outstanding_commitments
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
            and all_outstanding.source_period < periods.period
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
        customer_id,
        target_period as period,
        line_key,
        'adjustment' as line_type,
        meter_code,
        dimensions,
        quantity,
        unit,
        cast(null as decimal(38, 12)) as unit_price,
        amount,
        source_period,
        source_line_key,
        customer_id || ':' || target_period as invoice_id,
        'Late usage for ' || source_period || ': ' || source_description as description

    from targets

)

select * from final
