{# Sum of a money column that is NULL when any summed row is NULL (an amount that could not be
   converted for a missing fx rate): a missing amount is never summed as 0. #}
{% macro sum_or_null(expr) -%}
    case
        when sum(case when {{ expr }} is null then 1 else 0 end) = 0 then sum({{ expr }})
    end
{%- endmacro %}
