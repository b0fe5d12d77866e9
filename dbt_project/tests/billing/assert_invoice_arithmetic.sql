-- Invariant: subtotal = fees + usage + discount + minimum commitment + adjustments; credits
-- never exceed the subtotal floored at 0; total = subtotal - credits + tax (draft invoices).
with

invoices as (

    select * from {{ ref('fct_invoices') }}
    where status = 'draft'

),

final as (

    select *
    from invoices
    where
        subtotal <> fees_total + usage_total + discount_total + minimum_commitment_total
        + adjustment_total
        or credit_total < 0
        or credit_total > greatest(subtotal, 0)
        or promotional_credit_total > credit_total
        or taxable_amount <> subtotal - credit_total
        or total <> subtotal - credit_total + tax_total

)

select * from final
