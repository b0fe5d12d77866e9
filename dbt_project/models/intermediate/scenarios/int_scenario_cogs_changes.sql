{{ config(tags=['scenarios']) }}
-- The change of direct COGS a scenario's provider cost changes make, per scenario x customer x
-- period x provider x model. Direct COGS is the provider's bill split by expected cost
-- (int_cogs_allocated), so a row's share of a price component is that component's share of
-- the row's expected cost (int_usage_costs_expected, same customer, provider, model, feature and
-- day). Change of a row = COGS x (sum over matching changes of component cost x change_pct) /
-- (expected cost x 100); summed unrounded, rounded once per output row. A change matches a
-- component when provider equals, the model key globs the pattern, the component is the one
-- named (or `all`) and the day is in [effective_from, effective_to). In the customer's
-- reporting currency (int_cogs_converted), rounded to its minor unit.
with

changes as (

    select * from {{ ref('stg_scenarios__cost_changes') }}

),

expected as (

    select * from {{ ref('int_usage_costs_expected') }}
    where is_priced

),

cogs as (

    select * from {{ ref('int_cogs_periods_mapped') }}
    where pool_kind = 'direct'

),

expected_totals as (

    select
        customer_id,
        provider,
        model_key,
        feature,
        usage_date,
        sum(expected_cost) as expected_cost

    from expected
    group by customer_id, provider, model_key, feature, usage_date
    having sum(expected_cost) <> 0

),

weighted_changes as (

    select
        changes.scenario,
        expected.customer_id,
        expected.provider,
        expected.model_key,
        expected.feature,
        expected.usage_date,
        sum(expected.expected_cost * changes.change_pct) as weighted_change

    from expected
    inner join changes
        on
            lower(expected.provider) = changes.provider
            and {{ glob_match('expected.model_key', 'changes.model_pattern') }}
            and (
                changes.price_component = 'all'
                or expected.price_component = changes.price_component
            )
            and (changes.effective_from is null or expected.usage_date >= changes.effective_from)
            and (changes.effective_to is null or expected.usage_date < changes.effective_to)
    group by
        changes.scenario,
        expected.customer_id,
        expected.provider,
        expected.model_key,
        expected.feature,
        expected.usage_date

),

row_changes as (

    select
        weighted_changes.scenario,
        cogs.customer_id,
        cogs.period,
        cogs.provider,
        cogs.model,
        cogs.reporting_minor_units,
        -- in the customer's reporting currency, like the margin rows it changes (NULL when the
        -- day's fx rate is missing)
        {{ safe_divide(
            'cogs.allocated_amount_reporting * weighted_changes.weighted_change',
            'expected_totals.expected_cost * 100'
        ) }} as cogs_change_unrounded

    from cogs
    inner join expected_totals
        on
            cogs.customer_id = expected_totals.customer_id
            and cogs.provider = expected_totals.provider
            and cogs.model = expected_totals.model_key
            and cogs.feature = expected_totals.feature
            and cogs.cost_date = expected_totals.usage_date
    inner join weighted_changes
        on
            expected_totals.customer_id = weighted_changes.customer_id
            and expected_totals.provider = weighted_changes.provider
            and expected_totals.model_key = weighted_changes.model_key
            and expected_totals.feature = weighted_changes.feature
            and expected_totals.usage_date = weighted_changes.usage_date

),

final as (

    select
        scenario,
        customer_id,
        period,
        provider,
        model,
        {{ round_money(
            sum_or_null('cogs_change_unrounded'), 'any_value(reporting_minor_units)'
        ) }} as cogs_change

    from row_changes
    group by scenario, customer_id, period, provider, model

)

select * from final
