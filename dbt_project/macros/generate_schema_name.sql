{# Custom schemas are used as-is (staging, intermediate, marts), not prefixed with the target
   schema, so analysts query `marts.fct_invoices` on every target. In scenario mode (pricing
   lab, macros/scenario_sources.sql) the models of the re-rated chain (var `scenario_models`) are
   built in the working schema var `scenario_schema`; every other model keeps its schema, so the
   chain's refs to them read the real tables. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if var('scenario_mode', false) and node is not none and node.name in var('scenario_models', []) -%}
        {{ var('scenario_schema') }}
    {%- elif custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
