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

{# volume: every unit at the containing tier's price, plus its flat fee; 0 units cost 0. #}
{% macro volume_tier_amount(billable, unit_price, flat_fee, price_per) -%}
    case
        when cast({{ billable }} as decimal(38, 9)) = 0 then {{ to_money(0) }}
        else {{ to_money(
            price_units(billable, unit_price, price_per)
            ~ ' + coalesce(cast(' ~ flat_fee ~ ' as decimal(38, 12)), 0)'
        ) }}
    end
{%- endmacro %}

{# Prorated recurring fee: fee x active_days / days_in_period. #}
{% macro prorated_fee(fee, active_days, days_in_period) -%}
    {{ safe_divide('cast(' ~ fee ~ ' as decimal(38, 12)) * ' ~ active_days, days_in_period) }}
{%- endmacro %}
