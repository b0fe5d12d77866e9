-- The rated lines of every invoice as the current data prices them: prorated subscription fees
-- and usage charges, each rounded once to cents. For issued periods these are compared with the
-- issued lines (late usage becomes adjustments); for open periods they are the invoice lines.
-- Every line can be checked from its own columns: a fee line is quantity active days x
-- unit_price (the monthly fee) / price_per (days in the period); a usage line states its price
-- basis (price_basis: the unit price and its units, the packages, or the tier arithmetic).
-- Accounts (issue 22): a child billed to its parent is rated on its own plan and periods, and its
-- lines go on the parent's invoice (invoice_id and customer_id are the billing account's;
-- usage_customer_id is the child, and its line_key is prefixed 'account:<child>:' so the child's
-- lines never collide with the parent's).
-- A credit plan's period (int_billing_credit_periods) is one more usage line per invoice, line_key
-- credit_overage:<invoice_id>: its description states the credits consumed (by source) and
-- remaining; quantity = overage credits x unit_price the overage rate (0.00 without overage).
with

fees as (

    select * from {{ ref('int_billing_subscription_periods') }}

),

usage as (

    select * from {{ ref('int_billing_usage_rated') }}

),

plans as (

    select * from {{ ref('stg_reference__plans') }}

),

periods as (

    select * from {{ ref('int_billing_periods') }}

),

credit_periods as (

    select * from {{ ref('int_billing_credit_periods') }}

),

-- the credit-plan subscription of each invoice the credits line belongs to (the latest)
credit_subscriptions as (

    select
        fees.invoice_id,
        {{ arg_max_by('fees.subscription_id', ['fees.active_from', 'fees.subscription_id']) }}
            as subscription_id,
        {{ arg_max_by('fees.plan_code', ['fees.active_from', 'fees.subscription_id']) }}
            as plan_code,
        {{ arg_max_by('fees.plan_version', ['fees.active_from', 'fees.subscription_id']) }}
            as plan_version,
        {{ arg_max_by('fees.plan_name', ['fees.active_from', 'fees.subscription_id']) }}
            as plan_name

    from fees
    inner join {{ ref('stg_reference__plan_credits') }} as plan_credits
        on
            fees.plan_code = plan_credits.plan_code
            and fees.plan_version = plan_credits.plan_version
    group by fees.invoice_id

),

fee_lines as (

    select
        invoice_id,
        customer_id,
        period,
        'subscription:' || subscription_id || ':' || plan_code || ':v' || plan_version as line_key,
        'subscription' as line_type,
        plan_name || ' v' || plan_version || ' subscription (' || active_days || '/'
        || days_in_period || ' days of '
        || {{ format_money_text('fee', currency_minor_units('plan_currency')) }}
        || ')' as description,
        cast(null as {{ text_type() }}) as meter_code,
        cast(null as {{ text_type() }}) as dimensions,
        cast(active_days as decimal(38, 9)) as quantity,
        'day' as unit,
        cast(fee as decimal(38, 12)) as unit_price,
        fee_amount_unrounded as amount_unrounded,
        fee_amount as amount,
        subscription_id,
        plan_code,
        plan_version,
        'prorated_fee' as charge_model,
        cast(days_in_period as decimal(38, 12)) as price_per,
        plan_name,
        cast(null as decimal(38, 9)) as free_units,
        cast(active_days as decimal(38, 9)) as billable_quantity,
        cast(null as decimal(38, 9)) as package_size,
        {{ format_money_text('fee', currency_minor_units('plan_currency')) }}
        || ' per month × ' || active_days || '/' || days_in_period
        || ' days (' || cast(active_from as {{ text_type() }}) || ' to '
        || cast(cast({{ dbt.dateadd('day', -1, 'active_to') }} as date) as {{ text_type() }}) || ')'
            as price_basis

    from fees
    where fee is not null and plan_version is not null

),

usage_lines as (

    select
        usage.invoice_id,
        usage.customer_id,
        usage.period,
        usage.line_key,
        'usage' as line_type,
        usage.meter_name
        || case when usage.dimensions is not null then ' · ' || usage.dimensions else '' end
        || ' · ' || usage.price_text as description,
        usage.meter_code,
        usage.dimensions,
        usage.quantity,
        usage.unit,
        usage.unit_price,
        usage.amount_unrounded,
        usage.amount,
        usage.subscription_id,
        usage.plan_code,
        usage.plan_version,
        usage.charge_model,
        usage.price_per,
        plans.plan_name,
        usage.free_units,
        usage.billable_quantity,
        usage.package_size,
        usage.price_text as price_basis

    from usage
    left join plans
        on
            usage.plan_code = plans.plan_code
            and usage.plan_version = plans.plan_version

),

overage_lines as (

    select
        credit_periods.invoice_id,
        credit_periods.customer_id,
        credit_periods.period,
        'credit_overage:' || credit_periods.invoice_id as line_key,
        'usage' as line_type,
        'Credits · consumed ' || {{ format_quantity('credit_periods.credits_consumed') }}
        || ' (rolled over ' || {{ format_quantity('credit_periods.drawn_rollover') }}
        || ', allowance ' || {{ format_quantity('credit_periods.drawn_allowance') }}
        || ', packs ' || {{ format_quantity('credit_periods.drawn_packs') }}
        || ', overage ' || {{ format_quantity('credit_periods.overage_credits') }}
        || '); remaining ' || {{ format_quantity('credit_periods.credits_remaining') }}
        || ' (' || {{ format_quantity('credit_periods.rollover_out') }} || ' rolls over, '
        || {{ format_quantity('credit_periods.forfeited') }} || ' forfeited)' as description,
        cast(null as {{ text_type() }}) as meter_code,
        cast(null as {{ text_type() }}) as dimensions,
        cast(credit_periods.overage_credits as decimal(38, 9)) as quantity,
        'credit' as unit,
        cast(coalesce(credit_periods.overage_rate, 0) as decimal(38, 12)) as unit_price,
        {{ to_money(price_units(
            'credit_periods.overage_credits', 'coalesce(credit_periods.overage_rate, 0)', '1'
        )) }} as amount_unrounded,
        credit_periods.overage_amount as amount,
        credit_subscriptions.subscription_id,
        credit_subscriptions.plan_code,
        credit_subscriptions.plan_version,
        'credit_overage' as charge_model,
        cast(1 as decimal(38, 12)) as price_per,
        credit_subscriptions.plan_name,
        cast(null as decimal(38, 9)) as free_units,
        cast(credit_periods.overage_credits as decimal(38, 9)) as billable_quantity,
        cast(null as decimal(38, 9)) as package_size,
        'overage ' || {{ format_quantity('credit_periods.overage_credits') }} || ' credits × '
        || {{ format_price('coalesce(credit_periods.overage_rate, 0)') }} || ' per credit'
            as price_basis

    from credit_periods
    left join credit_subscriptions
        on credit_periods.invoice_id = credit_subscriptions.invoice_id
    where
        credit_periods.allowance_granted > 0
        or credit_periods.credits_consumed > 0

),

own_lines as (

    select * from fee_lines
    union all
    select * from usage_lines
    union all
    select * from overage_lines

),

final as (

    select
        periods.billing_invoice_id as invoice_id,
        periods.billing_customer_id as customer_id,
        own_lines.period,
        {{ account_line_key(
            'own_lines.customer_id', 'periods.billing_customer_id', 'own_lines.line_key'
        ) }} as line_key,
        own_lines.line_type,
        own_lines.description,
        own_lines.meter_code,
        own_lines.dimensions,
        own_lines.quantity,
        own_lines.unit,
        own_lines.unit_price,
        own_lines.amount_unrounded,
        own_lines.amount,
        own_lines.subscription_id,
        own_lines.plan_code,
        own_lines.plan_version,
        own_lines.charge_model,
        own_lines.price_per,
        own_lines.plan_name,
        own_lines.free_units,
        own_lines.billable_quantity,
        own_lines.package_size,
        own_lines.price_basis,
        own_lines.customer_id as usage_customer_id,
        own_lines.invoice_id as usage_invoice_id,
        own_lines.line_key as usage_line_key

    from own_lines
    inner join periods
        on own_lines.invoice_id = periods.invoice_id

)

select * from final
