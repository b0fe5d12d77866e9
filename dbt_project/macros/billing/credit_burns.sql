{#
  int_billing_credit_burns: one step of the period-after-period credit burn (the recursive part of
  the CTE `burns`): the burns of period index i from the balances after period i - 1 read from
  `previous` (columns customer_id, period_index, grant_id, balance_after). Needs the CTE
  `grant_periods` of the model.
#}
{% macro credit_burn_step(previous) %}
    select
        step.customer_id,
        step.period_index,
        step.invoice_id,
        step.period,
        step.grant_id,
        step.burn_rank,
        step.balance_before,
        step.burned,
        cast(step.balance_before - step.burned as decimal(38, 2))

    from (
        select
            computed.*,
            cast(
                case
                    when computed.is_fixed then computed.ledger_burned
                    else least(
                        computed.available,
                        greatest(
                            least(computed.credit_demand, computed.total_available)
                            - computed.available_before,
                            0
                        )
                    )
                end
                as decimal(38, 2)
            ) as burned

        from (
            select
                grant_periods.customer_id,
                grant_periods.period_index,
                grant_periods.invoice_id,
                grant_periods.period,
                grant_periods.grant_id,
                grant_periods.burn_rank,
                grant_periods.credit_demand,
                grant_periods.is_fixed,
                grant_periods.ledger_burned,
                burns.balance_after as balance_before,
                case when grant_periods.is_usable then burns.balance_after else 0 end as available,
                coalesce(
                    sum(case when grant_periods.is_usable then burns.balance_after else 0 end)
                        over (
                            partition by grant_periods.customer_id
                            order by grant_periods.burn_rank
                            rows between unbounded preceding and 1 preceding
                        ),
                    0
                ) as available_before,
                sum(case when grant_periods.is_usable then burns.balance_after else 0 end) over (
                    partition by grant_periods.customer_id
                ) as total_available

            from {{ previous }} as burns
            inner join grant_periods
                on
                    burns.customer_id = grant_periods.customer_id
                    and burns.grant_id = grant_periods.grant_id
                    and grant_periods.period_index = burns.period_index + 1
        ) as computed
    ) as step
{% endmacro %}

{# True where a recursive CTE may use window functions over its recursive reference (DuckDB);
   Spark forbids it, and the model unrolls the recursion over the period indexes instead. #}
{% macro credit_burns_recursive() -%}
    {{ return(adapter.dispatch('credit_burns_recursive', 'meterline')()) }}
{%- endmacro %}

{% macro default__credit_burns_recursive() -%}{{ return(true) }}{%- endmacro %}

{% macro spark__credit_burns_recursive() -%}{{ return(false) }}{%- endmacro %}

{# The largest period index the unrolled credit recursion (Spark) must reach: that of
   int_billing_periods. A unit test's inputs are CTEs, not relations to query: there, a bound above
   its fixtures' periods. 0 at parse time. #}
{% macro credit_recursion_depth() -%}
    {%- if not execute -%}
        {{ return(0) }}
    {%- elif model.resource_type == 'unit_test' -%}
        {{ return(11) }}
    {%- elif var('credit_recursion_depth', none) is not none -%}
        {{ return(var('credit_recursion_depth') | int) }}
    {%- endif -%}
    {%- set sql = 'select coalesce(max(period_index), 0) from ' ~ ref('int_billing_periods') -%}
    {{ return(run_query(sql).columns[0].values()[0] | int) }}
{%- endmacro %}

{# [first, first + 1, ..., last] (empty when last < first), for Jinja loops in models. #}
{% macro integers_between(first, last) -%}
    {{ return(range(first, last + 1) | list) }}
{%- endmacro %}
