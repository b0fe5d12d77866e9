-- One row per invoice line, in PRICING.md order: subscription fees, usage, late-usage
-- adjustments, discount, minimum commitment, credit, tax. Draft invoices are assembled from the
-- rated lines; issued invoices are their ledger lines exactly as issued, with every descriptive
-- column (subscription, plan, charge model, price basis) stored in the ledger at issue. line_no
-- follows a total order (line type, then line_key).
-- Accounts (issue 22): a parent's invoice also carries the lines of its children billed to it;
-- usage_customer_id names whose usage or fee a line is (the invoice's customer for its own lines
-- and for the account-level lines: adjustments, discount, commitment, credit, tax). The
-- children's lines are numbered after the parent's own charges, grouped by child, before the
-- account-level lines; an invoice without children is numbered as before.
with

totals as (

    select * from {{ ref('int_billing_invoice_totals') }}

),

rated as (

    select * from {{ ref('int_billing_rated_lines') }}

),

adjustments as (

    select * from {{ ref('int_billing_adjustment_lines') }}

),

subtotals as (

    select * from {{ ref('int_billing_invoice_subtotals') }}

),

issued_lines as (

    select * from {{ ref('stg_ledger__issued_invoice_lines') }}

),

drafts as (

    select * from totals
    where not is_issued

),

draft_rated_lines as (

    select
        rated.invoice_id,
        rated.customer_id,
        rated.period,
        rated.line_key,
        rated.line_type,
        rated.description,
        rated.meter_code,
        rated.dimensions,
        rated.quantity,
        rated.unit,
        rated.unit_price,
        rated.amount,
        rated.subscription_id,
        rated.plan_code,
        rated.plan_version,
        rated.charge_model,
        rated.price_per,
        rated.plan_name,
        rated.free_units,
        rated.billable_quantity,
        rated.package_size,
        rated.price_basis,
        rated.usage_customer_id

    from rated
    inner join drafts
        on rated.invoice_id = drafts.invoice_id

),

draft_adjustment_lines as (

    select
        adjustments.invoice_id,
        adjustments.customer_id,
        adjustments.period,
        adjustments.line_key,
        adjustments.line_type,
        adjustments.description,
        adjustments.meter_code,
        adjustments.dimensions,
        adjustments.quantity,
        adjustments.unit,
        adjustments.unit_price,
        adjustments.amount,
        cast(null as {{ text_type() }}) as subscription_id,
        cast(null as {{ text_type() }}) as plan_code,
        cast(null as integer) as plan_version,
        cast(null as {{ text_type() }}) as charge_model,
        cast(null as decimal(38, 12)) as price_per,
        cast(null as {{ text_type() }}) as plan_name,
        cast(null as decimal(38, 9)) as free_units,
        cast(null as decimal(38, 9)) as billable_quantity,
        cast(null as decimal(38, 9)) as package_size,
        cast(null as {{ text_type() }}) as price_basis,
        adjustments.customer_id as usage_customer_id

    from adjustments
    inner join drafts
        on adjustments.invoice_id = drafts.invoice_id

),

draft_summary_lines as (

    select
        subtotals.invoice_id,
        subtotals.customer_id,
        subtotals.period,
        'discount:' || subtotals.contract_id as line_key,
        'discount' as line_type,
        'Discount '
        || cast(cast(subtotals.usage_discount_pct as decimal(9, 2)) as {{ text_type() }})
        || '% of usage ' || cast(subtotals.usage_total as {{ text_type() }}) as description,
        cast(null as decimal(38, 9)) as quantity,
        cast(null as decimal(38, 12)) as unit_price,
        subtotals.discount_total as amount,
        cast(cast(subtotals.usage_discount_pct as decimal(9, 2)) as {{ text_type() }})
        || '% of usage '
        || cast(subtotals.usage_total as {{ text_type() }}) as price_basis

    from subtotals
    inner join drafts
        on subtotals.invoice_id = drafts.invoice_id
    where subtotals.discount_total <> 0

    union all

    select
        subtotals.invoice_id,
        subtotals.customer_id,
        subtotals.period,
        'minimum_commitment:' || subtotals.contract_id as line_key,
        'minimum_commitment' as line_type,
        case subtotals.commit_period
            when
                'term'
                then
                    'Term commitment true-up '
                    || cast(cast(subtotals.commit_amount as decimal(38, 2)) as {{ text_type() }})
            else
                'Minimum commitment '
                || cast(cast(subtotals.commit_amount as decimal(38, 2)) as {{ text_type() }})
                || ' - '
                || cast(cast(subtotals.committed_spend as decimal(38, 2)) as {{ text_type() }})
        end as description,
        cast(null as decimal(38, 9)) as quantity,
        cast(null as decimal(38, 12)) as unit_price,
        subtotals.minimum_commitment_total as amount,
        cast(null as {{ text_type() }}) as price_basis

    from subtotals
    inner join drafts
        on subtotals.invoice_id = drafts.invoice_id
    where subtotals.minimum_commitment_total <> 0

    union all

    select
        invoice_id,
        customer_id,
        period,
        'credit' as line_key,
        'credit' as line_type,
        'Credits applied' || case
            when promotional_credit_total = credit_total then ' (promotional)'
            when promotional_credit_total = 0 then ' (prepaid)'
            else ' (prepaid and promotional)'
        end as description,
        cast(null as decimal(38, 9)) as quantity,
        cast(null as decimal(38, 12)) as unit_price,
        -credit_total as amount,
        cast(null as {{ text_type() }}) as price_basis

    from drafts
    where credit_total <> 0

    union all

    select
        invoice_id,
        customer_id,
        period,
        'tax' as line_key,
        'tax' as line_type,
        'Tax ' || cast(cast(tax_rate * 100 as decimal(9, 2)) as {{ text_type() }}) || '% of '
        || cast(taxable_amount as {{ text_type() }}) as description,
        cast(taxable_amount as decimal(38, 9)) as quantity,
        cast(tax_rate as decimal(38, 12)) as unit_price,
        tax_total as amount,
        cast(cast(tax_rate * 100 as decimal(9, 2)) as {{ text_type() }}) || '% of '
        || cast(taxable_amount as {{ text_type() }}) as price_basis

    from drafts

),

draft_lines as (

    select * from draft_rated_lines

    union all

    select * from draft_adjustment_lines

    union all

    select
        invoice_id,
        customer_id,
        period,
        line_key,
        line_type,
        description,
        cast(null as {{ text_type() }}) as meter_code,
        cast(null as {{ text_type() }}) as dimensions,
        quantity,
        cast(null as {{ text_type() }}) as unit,
        unit_price,
        amount,
        cast(null as {{ text_type() }}) as subscription_id,
        cast(null as {{ text_type() }}) as plan_code,
        cast(null as integer) as plan_version,
        cast(null as {{ text_type() }}) as charge_model,
        cast(null as decimal(38, 12)) as price_per,
        cast(null as {{ text_type() }}) as plan_name,
        cast(null as decimal(38, 9)) as free_units,
        cast(null as decimal(38, 9)) as billable_quantity,
        cast(null as decimal(38, 9)) as package_size,
        price_basis,
        customer_id as usage_customer_id

    from draft_summary_lines

),

numbered_drafts as (

    select
        *,
        row_number() over (
            partition by invoice_id
            order by
                case
                    when line_type not in ('subscription', 'usage', 'adjustment') then 2
                    when usage_customer_id = customer_id then 0
                    else 1
                end,
                usage_customer_id,
                case line_type
                    when 'subscription' then 1
                    when 'usage' then 2
                    when 'adjustment' then 3
                    when 'discount' then 4
                    when 'minimum_commitment' then 5
                    when 'credit' then 6
                    when 'tax' then 7
                end,
                line_key
        ) as line_no

    from draft_lines

),

final as (

    select
        numbered_drafts.invoice_id,
        numbered_drafts.customer_id,
        numbered_drafts.period,
        cast(numbered_drafts.line_no as integer) as line_no,
        numbered_drafts.line_key,
        numbered_drafts.line_type,
        numbered_drafts.description,
        numbered_drafts.meter_code,
        numbered_drafts.dimensions,
        cast(numbered_drafts.quantity as decimal(38, 9)) as quantity,
        numbered_drafts.unit,
        cast(numbered_drafts.unit_price as decimal(38, 12)) as unit_price,
        cast(numbered_drafts.amount as decimal(38, 2)) as amount,
        drafts.currency,
        numbered_drafts.subscription_id,
        numbered_drafts.plan_code,
        numbered_drafts.plan_version,
        numbered_drafts.charge_model,
        'draft' as status,
        cast(null as {{ text_type() }}) as invoice_number,
        numbered_drafts.price_per,
        numbered_drafts.plan_name,
        cast(numbered_drafts.free_units as decimal(38, 9)) as free_units,
        cast(numbered_drafts.billable_quantity as decimal(38, 9)) as billable_quantity,
        cast(numbered_drafts.package_size as decimal(38, 9)) as package_size,
        numbered_drafts.price_basis,
        numbered_drafts.usage_customer_id

    from numbered_drafts
    inner join drafts
        on numbered_drafts.invoice_id = drafts.invoice_id

    union all

    select
        issued_lines.customer_id || ':' || issued_lines.period as invoice_id,
        issued_lines.customer_id,
        issued_lines.period,
        issued_lines.line_no,
        coalesce(issued_lines.line_key, 'issued:' || issued_lines.line_no) as line_key,
        issued_lines.line_type,
        issued_lines.description,
        issued_lines.meter_code,
        issued_lines.dimensions,
        issued_lines.quantity,
        issued_lines.unit,
        issued_lines.unit_price,
        issued_lines.amount,
        issued_lines.currency,
        issued_lines.subscription_id,
        issued_lines.plan_code,
        issued_lines.plan_version,
        issued_lines.charge_model,
        'issued' as status,
        issued_lines.invoice_number,
        issued_lines.price_per,
        issued_lines.plan_name,
        issued_lines.free_units,
        issued_lines.billable_quantity,
        issued_lines.package_size,
        issued_lines.price_basis,
        issued_lines.usage_customer_id

    from issued_lines

)

select * from final
