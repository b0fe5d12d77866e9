{#- Accounts (issue 22): the line_key of a rated line on the invoice that carries it. A child
    billed to its parent's invoice has its keys prefixed 'account:<child>:' (its lines never
    collide with the parent's own); a billing account's own lines keep their key. -#}
{% macro account_line_key(usage_customer_id, billing_customer_id, line_key) -%}
    case
        when {{ usage_customer_id }} = {{ billing_customer_id }} then {{ line_key }}
        else 'account:' || {{ usage_customer_id }} || ':' || {{ line_key }}
    end
{%- endmacro %}
