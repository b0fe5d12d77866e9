-- Every provider cost line in FOCUS column names: the union of the providers' staging models
-- (OpenAI Costs API pages and dashboard CSVs, Anthropic cost_report pages, FOCUS 1.0-1.2 files),
-- each of which maps its format to the same FOCUS columns. Provider precision is kept
-- (DECIMAL(38,15)); nothing is rounded here.
-- A file re-delivered under the same path with new content is a new batch that REPLACES the
-- earlier one (provider exports are restated, not appended): only the latest batch of a path
-- counts (a path belongs to one provider: raw/costs/<provider>/). Empty OpenAI buckets carry no
-- cost and are left out by stg_openai__costs.
-- x_ columns are meterline's additions (FOCUS custom-column convention).
with

openai_costs as (

    select * from {{ ref('stg_openai__costs') }}

),

anthropic_costs as (

    select * from {{ ref('stg_anthropic__costs') }}

),

focus_costs as (

    select * from {{ ref('stg_focus__costs') }}

),

unioned as (

    select * from openai_costs
    union all
    select * from anthropic_costs
    union all
    select * from focus_costs

),

latest as (

    select *
    from unioned
    qualify x_batch_id = max(x_batch_id) over (partition by x_source_file)

),

final as (

    select
        *,
        cast(ChargePeriodStart as date) as x_charge_date

    from latest

)

select * from final
