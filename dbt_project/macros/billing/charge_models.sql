{#
  The charge models of PRICING.md, once. Every argument is a SQL expression; quantities are
  DECIMAL, prices DECIMAL(38,12). Results are unrounded DECIMAL(38,12) amounts: round them with
  round_money() when they become a line.

  Tier rows carry `lower_bound` (the previous tier's up_to, 0 for the first tier) and `up_to`
  (inclusive, NULL for the last tier).
#}

{# Quantity left after the free units of the price row: (quantity - free_units)+ #}
{% macro billable_quantity(quantity, free_units) -%}
    greatest(
        cast({{ quantity }} as decimal(38, 9)) - cast(coalesce({{ free_units }}, 0) as decimal(38, 9)),
        cast(0 as decimal(38, 9))
    )
{%- endmacro %}

{# units x unit_price / price_per #}
{% macro price_units(units, unit_price, price_per) -%}
    {{ safe_divide(
        'cast(' ~ units ~ ' as decimal(38, 9)) * cast(' ~ unit_price ~ ' as decimal(38, 12))',
        'coalesce(' ~ price_per ~ ', 1)'
    ) }}
{%- endmacro %}

{# per_unit: amount = billable x unit_price / price_per #}
{% macro per_unit_amount(billable, unit_price, price_per) -%}
    {{ price_units(billable, unit_price, price_per) }}
{%- endmacro %}

{# package: ceil(billable / package_size) packages x package_price #}
{% macro package_count(billable, package_size) -%}
    {{ ceil_divide(billable, package_size) }}
{%- endmacro %}

{% macro package_amount(billable, package_size, package_price) -%}
    {{ to_money(package_count(billable, package_size) ~ ' * cast(' ~ package_price ~ ' as decimal(38, 12))') }}
{%- endmacro %}

{# Units of `billable` that fall in the tier (lower_bound, up_to]. #}
{% macro tier_units(billable, lower_bound, up_to) -%}
    greatest(
        case
            when {{ up_to }} is null then cast({{ billable }} as decimal(38, 9))
            else least(cast({{ billable }} as decimal(38, 9)), cast({{ up_to }} as decimal(38, 9)))
        end - cast({{ lower_bound }} as decimal(38, 9)),
        cast(0 as decimal(38, 9))
    )
{%- endmacro %}

{# graduated, one tier's share: its units at its price, plus its flat fee once any unit reaches
   it (the first tier's flat fee even at quantity 0). Sum it over the tiers of the price row. #}
{% macro graduated_tier_amount(billable, lower_bound, up_to, unit_price, flat_fee, price_per, is_first_tier) -%}
    {{ to_money(
        price_units(tier_units(billable, lower_bound, up_to), unit_price, price_per)
        ~ ' + case when ' ~ is_first_tier ~ ' or cast(' ~ billable ~ ' as decimal(38, 9)) > cast('
        ~ lower_bound ~ ' as decimal(38, 9)) then coalesce(cast(' ~ flat_fee
        ~ ' as decimal(38, 12)), 0) else 0 end'
    ) }}
{%- endmacro %}

{# volume: true for the one tier that contains the whole quantity (0 falls in the first tier). #}
{% macro volume_tier_contains(billable, lower_bound, up_to, is_first_tier) -%}
    (
        (cast({{ billable }} as decimal(38, 9)) > cast({{ lower_bound }} as decimal(38, 9)) or {{ is_first_tier }})
        and ({{ up_to }} is null or cast({{ billable }} as decimal(38, 9)) <= cast({{ up_to }} as decimal(38, 9)))
    )
{%- endmacro %}

{# volume: every unit at the containing tier's price, plus its flat fee (PRICING.md: quantity x
   unit_price + flat_fee of the tier that contains the quantity). 0 units fall in the first tier,
   so a first tier's flat fee is billed even at quantity 0 (10.00 for {up_to: 100, unit_price: 2,
   flat_fee: 10}), as for graduated tiers. #}
{% macro volume_tier_amount(billable, unit_price, flat_fee, price_per) -%}
    {{ to_money(
        price_units(billable, unit_price, price_per)
        ~ ' + coalesce(cast(' ~ flat_fee ~ ' as decimal(38, 12)), 0)'
    ) }}
{%- endmacro %}

{# Prorated recurring fee: fee x active_days / days_in_period. #}
{% macro prorated_fee(fee, active_days, days_in_period) -%}
    {{ safe_divide('cast(' ~ fee ~ ' as decimal(38, 12)) * ' ~ active_days, days_in_period) }}
{%- endmacro %}

{#
  A usage line's key: 'usage:<subscription>:<meter>:<charge index>:<price index>', the invoice
  line grain. `relation` qualifies the columns (e.g. 'grouped'), or leave it empty.
#}
{% macro usage_line_key(relation='') -%}
    {%- set p = relation ~ '.' if relation else '' -%}
    'usage:' || {{ p }}subscription_id || ':' || {{ p }}meter_code || ':'
    || {{ p }}charge_index || ':' || {{ p }}price_index
{%- endmacro %}

{#
  Usage lines priced with their charge model, the one place both the invoice lines
  (int_billing_usage_rated) and the day-by-day amounts to date (int_controls_usage_lines_to_date)
  get their amounts from. A select statement over the CTE `lines`, whose rows carry the price row
  (plan_code, plan_version, charge_index, price_index, charge_model, price_per, unit_price,
  free_units, package_size, package_price), the quantity column `quantity` and the key columns
  `keys` that identify a row. It returns every column of `lines`, plus billable_quantity (after
  the free units) and amount_unrounded (unrounded DECIMAL(38,12)): per_unit, package, or the sum
  over the tiers of the CTE `tiers` (int_billing_price_tiers) for graduated and volume.
#}
{% macro usage_line_amounts(lines, quantity, keys, tiers='tiers') -%}
    with

    billable as (

        select
            *,
            {{ billable_quantity(quantity, 'free_units') }} as billable_quantity

        from {{ lines }}

    ),

    tiered as (

        select
            {% for key in keys -%}
            billable.{{ key }},
            {% endfor -%}
            sum(
                case
                    when billable.charge_model = 'graduated'
                        then {{ graduated_tier_amount(
                            'billable.billable_quantity', 'tier.lower_bound', 'tier.up_to',
                            'tier.unit_price', 'tier.flat_fee', 'billable.price_per',
                            'tier.is_first_tier'
                        ) }}
                    when
                        billable.charge_model = 'volume'
                        and {{ volume_tier_contains(
                            'billable.billable_quantity', 'tier.lower_bound', 'tier.up_to',
                            'tier.is_first_tier'
                        ) }}
                        then {{ volume_tier_amount(
                            'billable.billable_quantity', 'tier.unit_price', 'tier.flat_fee',
                            'billable.price_per'
                        ) }}
                    else {{ to_money(0) }}
                end
            ) as tiered_amount

        from billable
        inner join {{ tiers }} as tier
            on
                billable.plan_code = tier.plan_code
                and billable.plan_version = tier.plan_version
                and billable.charge_index = tier.charge_index
                and billable.price_index = tier.price_index
        where billable.charge_model in ('graduated', 'volume')
        group by {% for key in keys %}billable.{{ key }}{{ ', ' if not loop.last }}{% endfor %}

    )

    select
        billable.*,
        {{ to_money(
            "case billable.charge_model
                when 'per_unit' then " ~ per_unit_amount('billable.billable_quantity', 'billable.unit_price', 'billable.price_per') ~ "
                when 'package' then " ~ package_amount('billable.billable_quantity', 'billable.package_size', 'billable.package_price') ~ "
                when 'graduated' then coalesce(tiered.tiered_amount, 0)
                when 'volume' then coalesce(tiered.tiered_amount, 0)
            end"
        ) }} as amount_unrounded

    from billable
    left join tiered
        on
            {% for key in keys -%}
            billable.{{ key }} = tiered.{{ key }}{{ ' and' if not loop.last }}
            {% endfor %}
{%- endmacro %}
