-- dim_billing_periods marks exactly one period as the default (when it has any period).
with

periods as (

    select * from {{ ref('dim_billing_periods') }}

),

counted as (

    select
        count(*) as periods,
        count(*) filter (where is_default) as default_periods

    from periods

)

select * from counted
where periods > 0 and default_periods <> 1
