{#
  The daily usage chain from the batch aggregates (int_usage_batches_daily) to metered rows, as
  SQL over a given relation, so that int_billing_usage_priced can run it over only the batch
  rows of the days it recomputes. The views int_usage_events_daily and int_usage_daily_metered
  are the same SQL over the whole table (kept for inspection; nothing reads them).
#}

{# Usage per customer x event type x local day x every dimension: the batch rows of `batches`
   (columns of int_usage_batches_daily) added up across batches and UTC days. #}
{% macro usage_events_daily(batches) -%}
with

batches as (

    select * from {{ batches }}

),

aggregated as (

    select
        customer_id,
        event_type,
        usage_date,
        {%- for dim in usage_dimension_fields() %}
        {{ dim }},
        {%- endfor %}
        cast(sum(event_count) as bigint) as event_count,
        {%- for field in usage_quantity_fields() %}
        sum(sum_{{ field }}) as sum_{{ field }},
        max(max_{{ field }}) as max_{{ field }},
        {%- endfor %}
        min(first_event_time) as first_event_time,
        max(last_event_time) as last_event_time

    from batches
    group by
        customer_id,
        event_type,
        usage_date
        {%- for dim in usage_dimension_fields() %},
        {{ dim }}
        {%- endfor %}

),

final as (

    select
        {%- set parts = ['customer_id', 'event_type', 'cast(usage_date as ' ~ text_type() ~ ')'] %}
        {%- for dim in usage_dimension_fields() %}{% do parts.append("coalesce(" ~ dim ~ ", '\\x00')") %}{% endfor %}
        {{ hash_parts(parts) }} as events_daily_id,
        *

    from aggregated

)

select * from final
{%- endmacro %}

{# Daily usage per customer x meter x local day x dimensions from `daily` (rows of
   usage_events_daily): joined to the meters of their event type, status rule and equality
   filters applied, the meter's quantity picked; meters on extra data keys appended from
   int_usage_extended_daily (all of its rows: the caller filters the days it wants). #}
{% macro usage_daily_metered(daily) -%}
with

daily as (

    select * from {{ daily }}

),

meters as (

    select * from {{ ref('stg_reference__meters') }}

),

meter_filters as (

    select * from {{ ref('stg_reference__meter_filters') }}

),

event_values as (

    select * from {{ ref('int_usage_meter_event_values') }}

),

extended as (

    select * from {{ ref('int_usage_extended_daily') }}

),

extra_keys as (

    select * from {{ ref('int_usage_meter_extra_keys') }}

),

typed_meters as (

    select * from meters
    where meter_code not in (select meter_code from extra_keys)

),

-- meters without filters join plainly; only the (few) rows of filtered meters are checked
unfiltered_meters as (

    select * from typed_meters
    where meter_code not in (select meter_code from meter_filters)

),

filtered_meters as (

    select * from typed_meters
    where meter_code in (select meter_code from meter_filters)

),

joined_unfiltered as (

    select
        daily.*,
        unfiltered_meters.meter_code,
        unfiltered_meters.meter_name,
        unfiltered_meters.aggregation,
        unfiltered_meters.field,
        unfiltered_meters.unit,
        unfiltered_meters.dimensions as meter_dimensions

    from daily
    inner join unfiltered_meters
        on daily.event_type = unfiltered_meters.event_type
    where unfiltered_meters.include_failed or daily.status = 'success'

),

joined_filtered as (

    select
        daily.*,
        filtered_meters.meter_code,
        filtered_meters.meter_name,
        filtered_meters.aggregation,
        filtered_meters.field,
        filtered_meters.unit,
        filtered_meters.dimensions as meter_dimensions

    from daily
    inner join filtered_meters
        on daily.event_type = filtered_meters.event_type
    where
        (filtered_meters.include_failed or daily.status = 'success')
        and not exists (
            select 1
            from meter_filters
            where
                meter_filters.meter_code = filtered_meters.meter_code
                and {{ dimension_value('meter_filters.field', 'daily') }}
                is distinct from meter_filters.filter_value
        )

),

joined as (

    select * from joined_unfiltered

    union all

    select * from joined_filtered

),

keyed as (

    select
        {{ usage_daily_key() }} as usage_daily_id,
        *

    from joined

),

typed_final as (

    select
        keyed.usage_daily_id,
        keyed.customer_id,
        keyed.meter_code,
        keyed.meter_name,
        keyed.aggregation,
        keyed.unit,
        keyed.usage_date,
        {{ period_of('keyed.usage_date') }} as period,
        keyed.event_type,
        {{ dimensions_text('keyed.meter_dimensions', 'keyed') }} as dimensions,
        {%- for dim in usage_dimension_fields() %}
        keyed.{{ dim }},
        {%- endfor %}
        keyed.event_count,
        cast(
            case keyed.aggregation
                when 'sum' then coalesce({{ quantity_value('keyed.field', 'keyed.sum_') }}, 0)
                when 'count' then keyed.event_count
                when 'max' then {{ quantity_value('keyed.field', 'keyed.max_') }}
                when 'latest' then event_values.latest_quantity
                when 'count_unique' then event_values.distinct_values
            end
            as decimal(38, 9)
        ) as quantity,
        event_values.unique_values,
        keyed.first_event_time,
        keyed.last_event_time,
        cast(null as {{ text_type() }}) as extra_dimensions

    from keyed
    left join event_values
        on keyed.usage_daily_id = event_values.usage_daily_id

),

final as (

    select * from typed_final

    union all

    select * from extended

)

select * from final
{%- endmacro %}
