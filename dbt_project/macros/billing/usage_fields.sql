{#
  The typed fields of a usage event (stg_usage__events), as the rating models see them.
  Dimensions are the text fields a meter may group on, a price `when` may match and a meter
  `filter` may test; quantity fields are what a meter may aggregate. Keep in step with
  orchestration/warehouse.py (USAGE_DIMENSION_FIELDS / USAGE_QUANTITY_FIELDS).
#}
{% macro usage_dimension_fields() -%}
    {{ return(['provider', 'model', 'status', 'outcome', 'gpu_type', 'feature', 'endpoint',
               'workspace_id', 'service_tier']) }}
{%- endmacro %}

{% macro usage_quantity_fields() -%}
    {{ return(['input_tokens', 'cached_input_tokens', 'cache_write_tokens',
               'uncached_input_tokens', 'output_tokens', 'images', 'audio_seconds', 'characters',
               'gpu_seconds', 'gb_stored', 'requests']) }}
{%- endmacro %}

{# The value of the dimension named by the text expression `name_expr`, for a row that carries
   every dimension column (optionally qualified by `relation`). Any other name is looked up in
   the JSON object `extra_json` when given (an event's extra_data, or a metered row's
   extra_dimensions), else NULL. #}
{% macro dimension_value(name_expr, relation=none, extra_json=none) -%}
    case {{ name_expr }}
    {%- for dim in usage_dimension_fields() %}
        when '{{ dim }}' then {{ relation ~ '.' if relation else '' }}{{ dim }}
    {%- endfor %}
    {%- if extra_json is not none %}
        else {{ json_text(extra_json, name_expr) }}
    {%- endif %}
    end
{%- endmacro %}

{# A quantity column named by a meter's `field`: `<prefix><field>` for each quantity field; any
   other name is read from the JSON object `extra_json` when given (a number in extra_data). #}
{% macro quantity_value(name_expr, prefix, extra_json=none) -%}
    case {{ name_expr }}
    {%- for field in usage_quantity_fields() %}
        when '{{ field }}' then cast({{ prefix }}{{ field }} as decimal(38, 9))
    {%- endfor %}
    {%- if extra_json is not none %}
        else cast({{ json_text(extra_json, name_expr) }} as decimal(38, 9))
    {%- endif %}
    end
{%- endmacro %}

{# The typed field names (dimensions and quantities), as a SQL list for `in (...)`. #}
{% macro typed_field_names_sql() -%}
    ({%- for f in usage_dimension_fields() + usage_quantity_fields() + ['latency_ms'] %}'{{ f }}'{{ ", " if not loop.last }}{%- endfor -%})
{%- endmacro %}

{# Key of a customer x meter x local day x dimensions row (fct_usage_daily grain). Built on
   aggregated rows only, never per event. `extra_dimensions` (meters reading extra data keys)
   is the last part; NULL parts are skipped, so rows of other meters keep their key. #}
{% macro usage_daily_key(relation=none, with_extra=false) -%}
    {%- set p = relation ~ '.' if relation else '' -%}
    {%- set parts = [p ~ 'customer_id', p ~ 'meter_code', 'cast(' ~ p ~ 'usage_date as ' ~ text_type() ~ ')'] -%}
    {%- for dim in usage_dimension_fields() %}{% do parts.append("coalesce(" ~ p ~ dim ~ ", '\\x00')") %}{% endfor -%}
    {%- if with_extra %}{% do parts.append(p ~ 'extra_dimensions') %}{% endif -%}
    {{ hash_parts(parts) }}
{%- endmacro %}

{# "model=gpt-4o, provider=openai": the meter's declared dimensions of a row, as text. #}
{% macro dimensions_text(dimensions_list, relation=none, extra_json=none) -%}
    {{ return(adapter.dispatch('dimensions_text', 'meterline')(dimensions_list, relation, extra_json)) }}
{%- endmacro %}

{% macro default__dimensions_text(dimensions_list, relation=none, extra_json=none) -%}
    {{ exceptions.raise_compiler_error("dimensions_text: implement <adapter>__dimensions_text for " ~ target.type) }}
{%- endmacro %}

{% macro duckdb__dimensions_text(dimensions_list, relation=none, extra_json=none) -%}
    array_to_string(
        list_transform({{ dimensions_list }}, lambda dim_name: dim_name || '=' || coalesce({{ dimension_value('dim_name', relation, extra_json) }}, '')),
        ', '
    )
{%- endmacro %}

{% macro spark__dimensions_text(dimensions_list, relation=none, extra_json=none) -%}
    array_join(
        transform({{ dimensions_list }}, dim_name -> dim_name || '=' || coalesce({{ dimension_value('dim_name', relation, extra_json) }}, '')),
        ', '
    )
{%- endmacro %}

{# The rows of `batches` (batch aggregates: `event_type`, `status` and every typed dimension) of
   each meter of `meters` on its event type, with the meter's status rule and equality filters
   applied as billing applies them (int_usage_daily_metered): a filter on a field that is not a
   typed dimension never holds. Columns: meter_code, aggregation, field, then every column of
   `batches`. Only the rows of meters with filters are checked against them (the check, a
   correlated subquery, is a join over every row it is given). The join is written twice: pass
   relations that are cheap to scan again (a table, or a CTE marked `inline_cte()`). #}
{% macro meter_batch_rows(meters, batches, filters) -%}
    {%- set joined -%}
        select
            {{ meters }}.meter_code,
            {{ meters }}.aggregation,
            {{ meters }}.field,
            {{ batches }}.*
        from {{ meters }}
        inner join {{ batches }}
            on
                {{ batches }}.event_type = {{ meters }}.event_type
                and ({{ meters }}.include_failed or {{ batches }}.status = 'success')
    {%- endset -%}
    select * from ({{ joined }}) as meter_rows
    where meter_code not in (select meter_code from {{ filters }})

    union all

    select * from ({{ joined }}) as meter_rows
    where
        meter_code in (select meter_code from {{ filters }})
        and not exists (
            select 1
            from {{ filters }}
            where
                {{ filters }}.meter_code = meter_rows.meter_code
                and {{ dimension_value(filters ~ '.field', 'meter_rows') }}
                is distinct from {{ filters }}.filter_value
        )
{%- endmacro %}

{# The events of `events` (stg_usage__events columns) of each meter of `meters` on its event
   type, with the meter's status rule and equality filters applied as billing applies them; a
   field or filter key that is not a typed column is read from the event's extra_data. Columns:
   the meter columns listed in `meter_columns` (expressions over `meters`, e.g.
   'dimensions as meter_dimensions'), the meter's value of the event (`value_quantity`, and
   `value_text` for count_unique), then every column of `events`. The join reads every event of
   the meters' event types: pass only the meters that need their events. #}
{% macro meter_event_rows(meters, events, filters, meter_columns=['meter_code', 'aggregation']) -%}
    select
        {%- for column in meter_columns %}
        {{ meters }}.{{ column }},
        {%- endfor %}
        {{ quantity_value(meters ~ '.field', events ~ '.', events ~ '.extra_data') }}
            as value_quantity,
        coalesce(
            {{ dimension_value(meters ~ '.field', events, events ~ '.extra_data') }},
            cast({{ quantity_value(meters ~ '.field', events ~ '.') }} as {{ text_type() }})
        ) as value_text,
        {{ events }}.*
    from {{ meters }}
    inner join {{ events }}
        on
            {{ events }}.event_type = {{ meters }}.event_type
            and ({{ meters }}.include_failed or {{ events }}.status = 'success')
    where not exists (
        select 1
        from {{ filters }}
        where
            {{ filters }}.meter_code = {{ meters }}.meter_code
            and {{ dimension_value(filters ~ '.field', events, events ~ '.extra_data') }}
            is distinct from {{ filters }}.filter_value
    )
{%- endmacro %}
