{#
  int_billing_credit_draws: one step of the period-after-period draw of credit units (credit
  plans, issue 22): the draws of period index i from the balances carried out of period i - 1,
  read from `previous` (columns customer_id, period_index, source_id, carry_out). Needs the CTE
  `source_periods` of the model (one row per customer x period index x source with draw_rank,
  is_usable, allowance, rollover_cap, credit_demand). The plan source (draw_rank 0) starts the
  period with its allowance + what the previous period carried out (already capped); a pack
  starts with its balance. Sources are drawn in draw_rank order until the demand is met; what
  is left of the demand is overage. The plan source carries out at most the period's rollover
  cap (0 = reset); a pack carries out its whole balance.
#}
{% macro credit_draw_step(previous) %}
    select
        step.customer_id,
        step.period_index,
        step.source_id,
        step.draw_rank,
        step.balance_before,
        step.drawn,
        cast(step.balance_before - step.drawn as decimal(38, 6)),
        cast(
            case
                when step.draw_rank = 0
                    then least(step.rollover_cap, step.balance_before - step.drawn)
                else step.balance_before - step.drawn
            end
            as decimal(38, 6)
        )

    from (
        select
            computed.*,
            cast(
                least(
                    computed.available,
                    greatest(
                        least(computed.credit_demand, computed.total_available)
                        - computed.available_before,
                        0
                    )
                )
                as decimal(38, 6)
            ) as drawn

        from (
            select
                source_periods.customer_id,
                source_periods.period_index,
                source_periods.source_id,
                source_periods.draw_rank,
                source_periods.credit_demand,
                source_periods.rollover_cap,
                cast(
                    source_periods.allowance + draws.carry_out as decimal(38, 6)
                ) as balance_before,
                case
                    when source_periods.is_usable
                        then source_periods.allowance + draws.carry_out
                    else 0
                end as available,
                coalesce(
                    sum(
                        case
                            when source_periods.is_usable
                                then source_periods.allowance + draws.carry_out
                            else 0
                        end
                    ) over (
                        partition by source_periods.customer_id
                        order by source_periods.draw_rank
                        rows between unbounded preceding and 1 preceding
                    ),
                    0
                ) as available_before,
                sum(
                    case
                        when source_periods.is_usable
                            then source_periods.allowance + draws.carry_out
                        else 0
                    end
                ) over (partition by source_periods.customer_id) as total_available

            from {{ previous }} as draws
            inner join source_periods
                on
                    draws.customer_id = source_periods.customer_id
                    and draws.source_id = source_periods.source_id
                    and source_periods.period_index = draws.period_index + 1
        ) as computed
    ) as step
{% endmacro %}
