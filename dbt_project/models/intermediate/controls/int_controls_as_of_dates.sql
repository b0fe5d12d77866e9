-- The "as of" day of every customer: the last complete day, i.e. the day before the local day
-- (customer time zone) of the last event in the data, or the dbt var `as_of_date` when set.
-- Never the wall clock: the same inputs give the same as-of day.
with

customers as (

    select * from {{ ref('stg_reference__customers') }}

),

daily as (

    select * from {{ ref('int_usage_batches_daily') }}

),

horizon as (

    select max(last_event_time) as last_event_time
    from daily

),

final as (

    select
        customers.customer_id,
        customers.timezone,
        customers.currency,
        horizon.last_event_time,
        {%- if var('as_of_date') %}
        cast('{{ var("as_of_date") }}' as date) as as_of_date,
        'var' as as_of_source
        {%- else %}
            cast(
            {{ dbt.dateadd(
                'day', -1,
                'cast(' ~ to_local_ts('horizon.last_event_time', 'customers.timezone') ~ ' as date)'
            ) }}
                as date
            ) as as_of_date,
            'last_event' as as_of_source
        {%- endif %}

    from customers
    cross join horizon

)

select * from final
