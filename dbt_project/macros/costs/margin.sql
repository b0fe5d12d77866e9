{# margin % = gross margin / revenue, markup % = gross margin / COGS (PRICING.md), in percent,
   2 places, NULL when the divisor is 0. Used by every margin mart, so they agree to the cent. #}
{% macro margin_ratios(margin='gross_margin', revenue='revenue', cogs='cogs_total') -%}
        case
            when {{ revenue }} <> 0 then {{ round_money(safe_divide(margin ~ ' * 100', revenue)) }}
        end as margin_pct,
        case
            when {{ cogs }} <> 0
                then {{ round_money(safe_divide(margin ~ ' * 100', cogs)) }}
        end as markup_pct
{%- endmacro %}

{# A margin mart rolled up from fct_customer_margin_breakdown to customer x period x `dimension`
   (model or feature): every money column summed (NULL when a summed row is NULL: COGS whose fx
   rate is missing), the ratios recomputed on the sums. #}
{% macro margin_rollup(dimension) -%}
{%- set money = ['usage_revenue', 'non_usage_revenue', 'adjustment_revenue', 'discount_allocated',
                 'promotional_credit_allocated', 'revenue', 'cogs_direct', 'cogs_allocated',
                 'cogs_total', 'gross_margin'] %}
with

breakdown as (

    select * from {{ ref('fct_customer_margin_breakdown') }}

),

grouped as (

    select
        customer_id,
        period,
        {{ dimension }},
        count(*) as breakdown_rows,
        {%- for col in money %}
        cast({{ sum_or_null(col) }} as decimal(38, 2)) as {{ col }}{{ ',' if not loop.last }}
        {%- endfor %}

    from breakdown
    group by customer_id, period, {{ dimension }}

),

final as (

    select
        customer_id || ':' || period || '|' || {{ dimension }} as {{ dimension }}_margin_id,
        customer_id,
        period,
        {{ dimension }},
        breakdown_rows,
        {%- for col in money %}
        {{ col }},
        {%- endfor %}
        {{ margin_ratios() }}

    from grouped

)

select * from final
{%- endmacro %}
