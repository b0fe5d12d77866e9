-- The anomalous customer-days of fct_customer_daily_spend (see its rule), one row each.
with

daily as (

    select * from {{ ref('fct_customer_daily_spend') }}

),

final as (

    select
        daily_spend_id as anomaly_id,
        customer_id,
        currency,
        spend_date,
        period,
        spend,
        anomaly_basis,
        trailing_median_basis,
        anomaly_threshold,
        basis_to_median_ratio,
        history_days,
        {{ to_money(var('anomaly_k')) }} as anomaly_k,
        {{ to_money(var('anomaly_min_amount')) }} as anomaly_min_amount

    from daily
    where is_anomaly

)

select * from final
