-- reference/fx_rates.csv: 1 from_currency = rate to_currency on rate_date (validated on load).
with

source as (

    select * from {{ source('raw', 'fx_rates') }}

),

final as (

    select
        cast(trim(date) as date) as rate_date,
        upper(trim(from_currency)) as from_currency,
        upper(trim(to_currency)) as to_currency,
        cast(trim(rate) as decimal(38, 12)) as rate

    from source

)

select * from final
