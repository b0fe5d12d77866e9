-- Metered provider usage that no provider price covers, per provider x model x price
-- component x UTC day: reported here (and as `unpriced` in fct_cost_reconciliation), never
-- costed at 0. catalog_status says why: the catalog does not know the model at all
-- (raw.catalog_unknown_models) and no provider_prices.csv row covers it, or the catalog knows
-- the model but has no price for that component.
with

expected as (

    select * from {{ ref('int_usage_costs_expected') }}

),

unknown_models as (

    select * from {{ ref('stg_provider_catalog__unknown_models') }}

),

unpriced as (

    select
        provider,
        model,
        price_component,
        usage_date,
        sum(quantity) as unpriced_quantity,
        count(distinct customer_id) as customers

    from expected
    where not is_priced
    group by all

),

final as (

    select
        unpriced.provider || '|' || unpriced.model || '|' || unpriced.price_component || '|'
        || cast(cast(unpriced.usage_date as date) as {{ text_type() }}) as price_gap_id,
        unpriced.provider,
        unpriced.model,
        unpriced.price_component,
        unpriced.usage_date,
        unpriced.unpriced_quantity,
        unpriced.customers,
        case
            when unknown_models.model is not null then 'unknown_to_catalog'
            else 'component_not_in_catalog'
        end as catalog_status

    from unpriced
    left join unknown_models
        on
            unpriced.provider = unknown_models.provider
            and unpriced.model = unknown_models.model

)

select * from final
