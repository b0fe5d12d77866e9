-- Invoice steps 1-4 of PRICING.md per customer x period: fees and usage (rounded lines), the
-- contract usage discount (-round(pct/100 x usage)), the minimum-commitment true-up (monthly, or
-- for a term commitment on the term's last period against the whole term), late-usage
-- adjustments, and the subtotal. Computed for every period; issued ones are overlaid later.
-- One row per billing account x period (issue 22): a child billed to its parent has no invoice;
-- its lines are in the parent's (int_billing_rated_lines), so the parent's contract discount and
-- commitment apply to the whole account's spend.
with

periods as (

    select * from {{ ref('int_billing_periods') }}
    where is_billing_account

),

lines as (

    select * from {{ ref('int_billing_rated_lines') }}

),

adjustments as (

    select * from {{ ref('int_billing_adjustment_lines') }}

),

contract_periods as (

    select * from {{ ref('int_billing_contract_periods') }}

),

line_totals as (

    select
        invoice_id,
        cast(sum(case when line_type = 'subscription' then amount else 0 end) as decimal(38, 2))
            as fees_total,
        cast(sum(case when line_type = 'usage' then amount else 0 end) as decimal(38, 2))
            as usage_total

    from lines
    group by invoice_id

),

adjustment_totals as (

    select
        invoice_id,
        cast(sum(amount) as decimal(38, 2)) as adjustment_total

    from adjustments
    group by invoice_id

),

discounted as (

    select
        periods.invoice_id,
        periods.customer_id,
        periods.period,
        periods.period_index,
        coalesce(line_totals.fees_total, 0) as fees_total,
        coalesce(line_totals.usage_total, 0) as usage_total,
        contract_periods.contract_id,
        contract_periods.commit_amount,
        contract_periods.commit_period,
        contract_periods.usage_discount_pct,
        coalesce(contract_periods.is_term_last_period, false) as is_term_last_period,
        -{{ round_money(
            'coalesce(line_totals.usage_total, 0) * coalesce(contract_periods.usage_discount_pct, 0) * cast(0.01 as decimal(3, 2))',
            'periods.currency_minor_units'
        ) }} as discount_total,
        coalesce(adjustment_totals.adjustment_total, 0) as adjustment_total

    from periods
    left join line_totals
        on periods.invoice_id = line_totals.invoice_id
    left join contract_periods
        on periods.invoice_id = contract_periods.invoice_id
    left join adjustment_totals
        on periods.invoice_id = adjustment_totals.invoice_id

),

committed as (

    select
        *,
        fees_total + usage_total + discount_total as committed_spend,
        sum(fees_total + usage_total + discount_total) over (
            partition by contract_id
            order by period
            rows between unbounded preceding and current row
        ) as contract_spend_to_date

    from discounted

),

final as (

    select
        invoice_id,
        customer_id,
        period,
        period_index,
        contract_id,
        commit_amount,
        commit_period,
        usage_discount_pct,
        is_term_last_period,
        fees_total,
        usage_total,
        cast(discount_total as decimal(38, 2)) as discount_total,
        committed_spend,
        cast(
            case
                when contract_id is null then 0
                when commit_period = 'month'
                    then greatest(commit_amount - committed_spend, 0)
                when commit_period = 'term' and is_term_last_period
                    then greatest(commit_amount - contract_spend_to_date, 0)
                else 0
            end
            as decimal(38, 2)
        ) as minimum_commitment_total,
        adjustment_total,
        cast(
            fees_total + usage_total + discount_total + adjustment_total
            + case
                when contract_id is null then 0
                when commit_period = 'month'
                    then greatest(commit_amount - committed_spend, 0)
                when commit_period = 'term' and is_term_last_period
                    then greatest(commit_amount - contract_spend_to_date, 0)
                else 0
            end
            as decimal(38, 2)
        ) as subtotal

    from committed

)

select * from final
