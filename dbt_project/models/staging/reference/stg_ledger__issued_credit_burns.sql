-- Credit burned per grant by each issued invoice (ledger.issued_credit_burns, written by
-- `meterline close` from the build it issued): the balances later periods start from.
with

source as (

    select * from {{ source('ledger', 'issued_credit_burns') }}

),

final as (

    select
        invoice_number,
        customer_id,
        period,
        customer_id || ':' || period as invoice_id,
        grant_id,
        cast(burned as decimal(38, 2)) as burned,
        issued_at

    from source

)

select * from final
