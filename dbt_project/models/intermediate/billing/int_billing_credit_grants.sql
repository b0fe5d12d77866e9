-- Every balance invoices can burn: the grants of credit_grants.csv, and the account credit of
-- issued credit notes (settlement account_credit), which is consumed like a paid grant: granted
-- when the note is issued, no expiry, priority 0, kind paid, grant_id = the note's number.
-- Accounts (issue 22): a grant to a child billed to its parent is the account's credit: it burns
-- on the parent's invoice that carries the child (customer_id = the billing account;
-- grant_customer_id = the customer credit_grants.csv names).
with

grants as (

    select * from {{ ref('stg_reference__credit_grants') }}
    -- credit packs (unit credits) are credit units of credit plans: int_billing_credit_draws
    where unit = 'money'

),

customers as (

    select * from {{ ref('stg_reference__customers') }}

),

credit_notes as (

    select * from {{ ref('stg_ledger__issued_credit_notes') }}
    where settlement = 'account_credit'

),

all_grants as (

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

),

final as (

    select
        all_grants.grant_id,
        coalesce(customers.billing_customer_id, all_grants.customer_id) as customer_id,
        all_grants.amount,
        all_grants.granted_at,
        all_grants.expires_at,
        all_grants.priority,
        all_grants.kind,
        all_grants.grant_source,
        all_grants.customer_id as grant_customer_id

    from all_grants
    left join customers
        on all_grants.customer_id = customers.customer_id

)

select * from final
