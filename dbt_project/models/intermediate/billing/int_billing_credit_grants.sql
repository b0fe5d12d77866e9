-- Every balance invoices can burn: the grants of credit_grants.csv, and the account credit of
-- issued credit notes (settlement account_credit), which is consumed like a paid grant: granted
-- when the note is issued, no expiry, priority 0, kind paid, grant_id = the note's number.
with

grants as (

    select * from {{ ref('stg_reference__credit_grants') }}
    -- credit packs (unit credits) are credit units of credit plans: int_billing_credit_draws
    where unit = 'money'

),

credit_notes as (

    select * from {{ ref('stg_ledger__issued_credit_notes') }}
    where settlement = 'account_credit'

),

final as (

    select
        grant_id,
        customer_id,
        amount,
        granted_at,
        expires_at,
        priority,
        kind,
        'credit_grant' as grant_source

    from grants

    union all

    select
        credit_note_number as grant_id,
        customer_id,
        cast(total as decimal(38, 12)) as amount,
        issued_at as granted_at,
        cast(null as timestamp) as expires_at,
        0 as priority,
        'paid' as kind,
        'credit_note' as grant_source

    from credit_notes

)

select * from final
