-- Usage lines priced with their charge model (macros in macros/billing/charge_models.sql):
-- free units first, then per_unit, package, graduated (tier by tier) or volume (the tier
-- containing the whole quantity). The amount is rounded once, half away from zero, to the minor
-- unit of the invoice currency (cents for USD, whole yen for JPY). A line of a credit-priced
-- charge (price_unit credits, a credit plan) is priced by the same engine in credit units: its
-- `credits` are the amount rounded to 6 places (round_credits) and its money amount is 0; the
-- credits are drawn from the allowance, rollover and packs, any overage billed in money
-- (int_billing_credit_periods).
with

lines as (

    select * from {{ ref('int_billing_usage_line_quantities') }}

),

tiers as (

    select * from {{ ref('int_billing_price_tiers') }}

),

periods as (

    select * from {{ ref('int_billing_periods') }}

),

amounts as (

    {{ usage_line_amounts('lines', 'quantity', ['line_key', 'invoice_id']) }}

),

-- the tiers a graduated or volume line reached, as text: "1,000 × 0.10 + 5.00 + ..."
tier_texts as (

    select
        amounts.line_key,
        amounts.invoice_id,
        {{ ordered_string_agg(
            "case
                when amounts.charge_model = 'graduated' then
                    case
                        when " ~ tier_units('amounts.billable_quantity', 'tiers.lower_bound', 'tiers.up_to') ~ " > 0
                            and (tiers.is_first_tier or amounts.billable_quantity > tiers.lower_bound)
                            and tiers.flat_fee > 0
                            then " ~ format_quantity(tier_units('amounts.billable_quantity', 'tiers.lower_bound', 'tiers.up_to')) ~ " || ' × ' || " ~ format_price('tiers.unit_price') ~ " || ' + ' || " ~ format_price('tiers.flat_fee') ~ "
                        when " ~ tier_units('amounts.billable_quantity', 'tiers.lower_bound', 'tiers.up_to') ~ " > 0
                            then " ~ format_quantity(tier_units('amounts.billable_quantity', 'tiers.lower_bound', 'tiers.up_to')) ~ " || ' × ' || " ~ format_price('tiers.unit_price') ~ "
                        when (tiers.is_first_tier or amounts.billable_quantity > tiers.lower_bound)
                            and tiers.flat_fee > 0
                            then " ~ format_price('tiers.flat_fee') ~ "
                    end
                when amounts.billable_quantity = 0
                    and tiers.is_first_tier
                    and tiers.flat_fee > 0
                    then " ~ format_price('tiers.flat_fee') ~ "
                when amounts.billable_quantity > 0
                    and " ~ volume_tier_contains('amounts.billable_quantity', 'tiers.lower_bound', 'tiers.up_to', 'tiers.is_first_tier') ~ "
                    then " ~ format_quantity('amounts.billable_quantity') ~ " || ' × ' || " ~ format_price('tiers.unit_price') ~ "
                    || case when tiers.flat_fee > 0 then ' + ' || " ~ format_price('tiers.flat_fee') ~ " else '' end
            end",
            "' + '",
            "tiers.tier_index"
        ) }} as tiers_text

    from amounts
    inner join tiers
        on
            amounts.plan_code = tiers.plan_code
            and amounts.plan_version = tiers.plan_version
            and amounts.charge_index = tiers.charge_index
            and amounts.price_index = tiers.price_index
    where amounts.charge_model in ('graduated', 'volume')
    group by amounts.line_key, amounts.invoice_id

),

with_texts as (

    select
        amounts.*,
        tier_texts.tiers_text,
        periods.currency_minor_units

    from amounts
    left join tier_texts
        on
            amounts.line_key = tier_texts.line_key
            and amounts.invoice_id = tier_texts.invoice_id
    left join periods
        on amounts.invoice_id = periods.invoice_id

),

final as (

    select
        with_texts.line_key,
        with_texts.invoice_id,
        with_texts.customer_id,
        with_texts.period,
        with_texts.subscription_id,
        with_texts.plan_code,
        with_texts.plan_version,
        with_texts.meter_code,
        with_texts.meter_name,
        with_texts.unit,
        with_texts.charge_index,
        with_texts.price_index,
        with_texts.charge_model,
        with_texts.price_per,
        with_texts.dimensions,
        case
            when with_texts.price_unit = 'credits' then null
            when with_texts.charge_model = 'per_unit' then with_texts.unit_price
            when with_texts.charge_model = 'package' then with_texts.package_price
        end as unit_price,
        with_texts.free_units,
        with_texts.package_size,
        with_texts.event_count,
        with_texts.quantity,
        with_texts.billable_quantity,
        case
            when with_texts.charge_model = 'package'
                then {{ package_count('billable_quantity', 'package_size') }}
        end as package_count,
        case
            when with_texts.price_unit = 'credits' then {{ to_money(0) }}
            else with_texts.amount_unrounded
        end as amount_unrounded,
        -- to the minor unit of the invoice currency (JPY 0 places, USD 2)
        case
            when with_texts.price_unit = 'credits' then cast(0 as decimal(38, 2))
            else {{ round_money('amount_unrounded', 'coalesce(currency_minor_units, 2)') }}
        end as amount,
        -- the price basis, e.g. "2.50 per 1,000,000 tokens, first 1,000,000 free"; credit-priced:
        -- "in credits, 4.00 per image = 40 credits"
        case when with_texts.price_unit = 'credits' then 'in credits, ' else '' end
        || case with_texts.charge_model
            when
                'per_unit'
                then
                    {{ format_price('unit_price') }}
                    || ' '
                    || {{ per_units_text('price_per', 'unit') }}
            when 'package'
                then
                    {{ format_quantity(package_count('billable_quantity', 'package_size')) }}
                    || case
                        when {{ package_count('billable_quantity', 'package_size') }} = 1
                            then ' package × '
                        else ' packages × '
                    end
                    || {{ format_price('package_price') }} || ' per package of '
                    || {{ format_quantity('package_size') }}
                    || ' '
                    || {{ plural_unit("coalesce(unit, 'unit')") }}
            else
                with_texts.charge_model || ': ' || coalesce(with_texts.tiers_text, '0')
                || case
                    when
                        coalesce(with_texts.price_per, 1) <> 1
                        then ' (prices ' || {{ per_units_text('price_per', 'unit') }} || ')'
                    else ''
                end
        end || {{ free_units_text('free_units', 'unit') }}
        || case
            when with_texts.price_unit = 'credits'
                then
                    ' = ' || {{ format_quantity(round_credits('amount_unrounded')) }}
                    || ' credits'
            else ''
        end as price_text,
        coalesce(with_texts.price_unit, 'money') as price_unit,
        case
            when with_texts.price_unit = 'credits' then {{ round_credits('amount_unrounded') }}
        end as credits

    from with_texts

)

select * from final
