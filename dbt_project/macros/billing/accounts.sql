{#- Accounts (issue 22): the line_key of a rated line on the invoice that carries it. A child
    billed to its parent's invoice has its keys prefixed 'account:<child>:' (its lines never
    collide with the parent's own); a billing account's own lines keep their key. -#}
{% macro account_line_key(usage_customer_id, billing_customer_id, line_key) -%}
    case
        when {{ usage_customer_id }} = {{ billing_customer_id }} then {{ line_key }}
        else 'account:' || {{ usage_customer_id }} || ':' || {{ line_key }}
    end
{%- endmacro %}

{#- Accounts (issue 22): fct_customer_daily_spend as budgets see it. A customer's budget is on its
    account: its own days plus, on the same period and day, the spend of the children billed to
    it (a child's own budget sees the child's days only). The columns the controls marts read. -#}
{% macro account_daily_spend() -%}
    select
        own.customer_id,
        own.period,
        own.currency,
        own.period_start,
        own.period_end,
        own.days_in_period,
        own.spend_date,
        own.as_of_date,
        own.is_anomaly,
        cast(own.spend + coalesce(children.spend, 0) as decimal(38, 2)) as spend,
        cast(own.spend_to_date + coalesce(children.spend_to_date, 0) as decimal(38, 2))
            as spend_to_date

    from {{ ref('fct_customer_daily_spend') }} as own
    left join (
        select
            customers.billing_customer_id,
            child.period,
            child.spend_date,
            sum(child.spend) as spend,
            sum(child.spend_to_date) as spend_to_date

        from {{ ref('fct_customer_daily_spend') }} as child
        inner join {{ ref('stg_reference__customers') }} as customers
            on child.customer_id = customers.customer_id
        where customers.bill_to_parent
        group by customers.billing_customer_id, child.period, child.spend_date
    ) as children
        on
            own.customer_id = children.billing_customer_id
            and own.period = children.period
            and own.spend_date = children.spend_date
{%- endmacro %}
