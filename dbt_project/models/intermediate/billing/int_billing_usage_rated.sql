-- Usage lines priced with their charge model (macros in macros/billing/charge_models.sql):
-- free units first, then per_unit, package, graduated (tier by tier) or volume (the tier
-- containing the whole quantity). The amount is rounded once, half away from zero, to cents.
with

lines as (

    select * from {{ ref('int_billing_usage_line_quantities') }}

),

tiers as (

    select * from {{ ref('int_billing_price_tiers') }}

),

billable as (

    select
        *,
        {{ billable_quantity('quantity', 'free_units') }} as billable_quantity

    from lines

),

tiered as (

    select
        billable.line_key,
        billable.invoice_id,
        sum(
            case
                when billable.charge_model = 'graduated'
                    then {{ graduated_tier_amount(
                        'billable.billable_quantity', 'tiers.lower_bound', 'tiers.up_to',
                        'tiers.unit_price', 'tiers.flat_fee', 'billable.price_per',
                        'tiers.is_first_tier'
                    ) }}
                when
                    billable.charge_model = 'volume'
                    and {{ volume_tier_contains(
                        'billable.billable_quantity', 'tiers.lower_bound', 'tiers.up_to',
                        'tiers.is_first_tier'
                    ) }}
                    then {{ volume_tier_amount(
                        'billable.billable_quantity', 'tiers.unit_price', 'tiers.flat_fee',
                        'billable.price_per'
                    ) }}
                else {{ to_money(0) }}
            end
        ) as tiered_amount,
        {{ dbt.listagg(
            "case
                when billable.charge_model = 'graduated' then
                    case
                        when " ~ tier_units('billable.billable_quantity', 'tiers.lower_bound', 'tiers.up_to') ~ " > 0
                            and (tiers.is_first_tier or billable.billable_quantity > tiers.lower_bound)
                            and tiers.flat_fee > 0
                            then " ~ format_quantity(tier_units('billable.billable_quantity', 'tiers.lower_bound', 'tiers.up_to')) ~ " || ' × ' || " ~ format_price('tiers.unit_price') ~ " || ' + ' || " ~ format_price('tiers.flat_fee') ~ "
                        when " ~ tier_units('billable.billable_quantity', 'tiers.lower_bound', 'tiers.up_to') ~ " > 0
                            then " ~ format_quantity(tier_units('billable.billable_quantity', 'tiers.lower_bound', 'tiers.up_to')) ~ " || ' × ' || " ~ format_price('tiers.unit_price') ~ "
                        when (tiers.is_first_tier or billable.billable_quantity > tiers.lower_bound)
                            and tiers.flat_fee > 0
                            then " ~ format_price('tiers.flat_fee') ~ "
                    end
                when billable.billable_quantity > 0
                    and " ~ volume_tier_contains('billable.billable_quantity', 'tiers.lower_bound', 'tiers.up_to', 'tiers.is_first_tier') ~ "
                    then " ~ format_quantity('billable.billable_quantity') ~ " || ' × ' || " ~ format_price('tiers.unit_price') ~ "
                    || case when tiers.flat_fee > 0 then ' + ' || " ~ format_price('tiers.flat_fee') ~ " else '' end
            end",
            "' + '",
            "order by tiers.tier_index"
        ) }} as tiers_text

    from billable
    inner join tiers
        on
            billable.plan_code = tiers.plan_code
            and billable.plan_version = tiers.plan_version
            and billable.charge_index = tiers.charge_index
            and billable.price_index = tiers.price_index
    where billable.charge_model in ('graduated', 'volume')
    group by billable.line_key, billable.invoice_id

),

amounts as (

    select
        billable.*,
        {{ to_money(
            "case billable.charge_model
                when 'per_unit' then " ~ per_unit_amount('billable.billable_quantity', 'billable.unit_price', 'billable.price_per') ~ "
                when 'package' then " ~ package_amount('billable.billable_quantity', 'billable.package_size', 'billable.package_price') ~ "
                when 'graduated' then coalesce(tiered.tiered_amount, 0)
                when 'volume' then coalesce(tiered.tiered_amount, 0)
            end"
        ) }} as amount_unrounded,
        tiered.tiers_text

    from billable
    left join tiered
        on
            billable.line_key = tiered.line_key
            and billable.invoice_id = tiered.invoice_id

),

final as (

    select
        line_key,
        invoice_id,
        customer_id,
        period,
        subscription_id,
        plan_code,
        plan_version,
        meter_code,
        meter_name,
        unit,
        charge_index,
        price_index,
        charge_model,
        price_per,
        dimensions,
        case charge_model
            when 'per_unit' then unit_price
            when 'package' then package_price
        end as unit_price,
        free_units,
        package_size,
        event_count,
        quantity,
        billable_quantity,
        case when charge_model = 'package'
            then {{ package_count('billable_quantity', 'package_size') }}
        end as package_count,
        amount_unrounded,
        {{ round_money('amount_unrounded') }} as amount,
        -- the price basis, e.g. "2.50 per 1,000,000 tokens, first 1,000,000 free"
        case charge_model
            when 'per_unit' then {{ format_price('unit_price') }} || ' ' || {{ per_units_text('price_per', 'unit') }}
            when 'package' then {{ format_quantity(package_count('billable_quantity', 'package_size')) }}
                || ' packages × ' || {{ format_price('package_price') }} || ' per package of '
                || {{ format_quantity('package_size') }} || ' ' || {{ plural_unit("coalesce(unit, 'unit')") }}
            else charge_model || ': ' || coalesce(tiers_text, '0')
                || case
                    when coalesce(price_per, 1) <> 1 then ' (prices ' || {{ per_units_text('price_per', 'unit') }} || ')'
                    else ''
                end
        end || {{ free_units_text('free_units', 'unit') }} as price_text

    from amounts

)

select * from final
