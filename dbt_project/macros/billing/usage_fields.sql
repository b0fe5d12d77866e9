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
   every dimension column (optionally qualified by `relation`). NULL for an unknown name. #}
{% macro dimension_value(name_expr, relation=none) -%}
    case {{ name_expr }}
    {%- for dim in usage_dimension_fields() %}
        when '{{ dim }}' then {{ relation ~ '.' if relation else '' }}{{ dim }}
    {%- endfor %}
    end
{%- endmacro %}

{# A quantity column named by a meter's `field`: `<prefix><field>` for each quantity field. #}
{% macro quantity_value(name_expr, prefix) -%}
    case {{ name_expr }}
    {%- for field in usage_quantity_fields() %}
        when '{{ field }}' then cast({{ prefix }}{{ field }} as decimal(38, 9))
    {%- endfor %}
    end
{%- endmacro %}

{# Key of a customer x meter x local day x dimensions row (fct_usage_daily grain). Built on
   aggregated rows only, never per event. #}
{% macro usage_daily_key(relation=none) -%}
    {%- set p = relation ~ '.' if relation else '' -%}
    md5(concat_ws('|', {{ p }}customer_id, {{ p }}meter_code, cast({{ p }}usage_date as varchar)
    {%- for dim in usage_dimension_fields() %}, coalesce({{ p }}{{ dim }}, '\x00'){% endfor %}))
{%- endmacro %}

{# "model=gpt-4o, provider=openai": the meter's declared dimensions of a row, as text. #}
{% macro dimensions_text(dimensions_list, relation=none) -%}
    array_to_string(
        list_transform({{ dimensions_list }}, lambda dim_name: dim_name || '=' || coalesce({{ dimension_value('dim_name', relation) }}, '')),
        ', '
    )
{%- endmacro %}
