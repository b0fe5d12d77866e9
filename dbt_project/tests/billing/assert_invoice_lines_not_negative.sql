-- Invariant: lines are never negative except discount, credit and adjustment lines.
with

lines as (

    select * from {{ ref('fct_invoice_lines') }}

),

final as (

    select *
    from lines
    where amount < 0 and line_type not in ('discount', 'credit', 'adjustment')

)

select * from final
