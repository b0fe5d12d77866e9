-- Credit plans (issue 22): one row per customer x period of a customer with a credit plan or a
-- credit pack: the credits granted, consumed, drawn (rolled-over first, then the allowance, then
-- packs), remaining, carried over, forfeited above the cap, expired (packs), and the overage:
-- overage_credits = consumed - drawn, billed in money at the plan's overage rate per credit,
-- rounded once to the invoice currency's minor unit (round_money): an invoice line
-- (int_billing_rated_lines, line_key credit_overage:<invoice_id>).
with

draws as (

    select * from {{ ref('int_billing_credit_draws') }}

),

periods as (

    select * from {{ ref('int_billing_periods') }}

),

packs as (

    select * from {{ ref('stg_reference__credit_grants') }}
    where unit = 'credits'

),

source_rows as (

    select
        draws.*,
        cast(periods.period_start as timestamp) as period_start_at,
        cast(periods.period_end as timestamp) as period_end_at,
        packs.granted_at,
        packs.expires_at,
        packs.amount as pack_amount,
        packs.price_paid

    from draws
    inner join periods
        on draws.invoice_id = periods.invoice_id
    left join packs
        on draws.source_id = packs.grant_id

),

summed as (

    select
        source_rows.invoice_id,
        any_value(source_rows.customer_id) as customer_id,
        any_value(source_rows.period) as period,
        any_value(source_rows.period_index) as period_index,
        any_value(source_rows.credit_demand) as credits_consumed,
        any_value(source_rows.overage_rate) as overage_rate,
        sum(case when source_rows.source_kind = 'plan' then source_rows.allowance else 0 end)
            as allowance_granted,
        sum(case when source_rows.source_kind = 'plan' then source_rows.carried_in else 0 end)
            as rollover_in,
        sum(case when source_rows.source_kind = 'plan' then source_rows.drawn else 0 end)
            as drawn_plan,
        sum(case when source_rows.source_kind = 'plan' then source_rows.carry_out else 0 end)
            as rollover_out,
        sum(
            case
                when source_rows.source_kind = 'plan'
                    then source_rows.balance_after - source_rows.carry_out
                else 0
            end
        ) as forfeited,
        sum(
            case
                when
                    source_rows.source_kind = 'pack'
                    and source_rows.granted_at >= source_rows.period_start_at
                    and source_rows.granted_at < source_rows.period_end_at
                    then source_rows.pack_amount
                else 0
            end
        ) as packs_granted,
        sum(
            case
                when
                    source_rows.source_kind = 'pack'
                    and source_rows.granted_at >= source_rows.period_start_at
                    and source_rows.granted_at < source_rows.period_end_at
                    then source_rows.price_paid
                else 0
            end
        ) as packs_price_paid,
        sum(case when source_rows.source_kind = 'pack' then source_rows.drawn else 0 end)
            as drawn_packs,
        -- a pack expiring within the period (not usable in it): its balance is lost there
        sum(
            case
                when
                    source_rows.source_kind = 'pack'
                    and source_rows.expires_at >= source_rows.period_start_at
                    and source_rows.expires_at < source_rows.period_end_at
                    then source_rows.balance_before
                else 0
            end
        ) as packs_expired,
        sum(
            case
                when
                    source_rows.source_kind = 'pack'
                    and source_rows.granted_at < source_rows.period_end_at
                    and (
                        source_rows.expires_at is null
                        or source_rows.expires_at > source_rows.period_end_at
                    )
                    then source_rows.balance_after
                else 0
            end
        ) as packs_remaining,
        -- the money value of the pack credits drawn: each pack's price per credit x drawn
        sum(
            case
                when source_rows.source_kind = 'pack' and source_rows.pack_amount > 0
                    then {{ safe_divide(
                        'coalesce(source_rows.price_paid, 0) * source_rows.drawn',
                        'source_rows.pack_amount'
                    ) }}
                else 0
            end
        ) as packs_drawn_value

    from source_rows
    group by source_rows.invoice_id

),

final as (

    select
        summed.invoice_id,
        summed.customer_id,
        summed.period,
        summed.period_index,
        cast(summed.allowance_granted as decimal(38, 6)) as allowance_granted,
        cast(summed.rollover_in as decimal(38, 6)) as rollover_in,
        cast(summed.packs_granted as decimal(38, 6)) as packs_granted,
        cast(summed.credits_consumed as decimal(38, 6)) as credits_consumed,
        cast(least(summed.rollover_in, summed.drawn_plan) as decimal(38, 6)) as drawn_rollover,
        cast(summed.drawn_plan - least(summed.rollover_in, summed.drawn_plan) as decimal(38, 6))
            as drawn_allowance,
        cast(summed.drawn_packs as decimal(38, 6)) as drawn_packs,
        cast(summed.credits_consumed - summed.drawn_plan - summed.drawn_packs as decimal(38, 6))
            as overage_credits,
        cast(summed.rollover_out as decimal(38, 6)) as rollover_out,
        cast(summed.forfeited as decimal(38, 6)) as forfeited,
        cast(summed.packs_expired as decimal(38, 6)) as packs_expired,
        cast(summed.packs_remaining as decimal(38, 6)) as packs_remaining,
        cast(summed.rollover_out + summed.packs_remaining as decimal(38, 6)) as credits_remaining,
        summed.overage_rate,
        -- overage credits x rate, as a per_unit price (the rating engine's multiplication)
        {{ round_money(
            price_units(
                '(summed.credits_consumed - summed.drawn_plan - summed.drawn_packs)',
                'coalesce(summed.overage_rate, 0)',
                '1'
            ),
            'periods.currency_minor_units'
        ) }} as overage_amount,
        {{ round_money('summed.packs_price_paid', 'periods.currency_minor_units') }}
            as packs_price_paid,
        {{ to_money('summed.packs_drawn_value') }} as packs_drawn_value,
        periods.currency,
        periods.currency_minor_units

    from summed
    inner join periods
        on summed.invoice_id = periods.invoice_id

)

select * from final
