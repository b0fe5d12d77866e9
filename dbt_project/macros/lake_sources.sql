{#
  METERLINE_ENGINE=spark (issue 21): the raw and ledger tables are Parquet copies written by
  orchestration/lake.py under METERLINE_LAKE_DIR/<schema>/<table>/. Before a run, each source
  of the project is (re)registered as an external Parquet table of that folder, so source() and
  the scenario macros read them as on DuckDB; in scenario mode (pricing lab) the scenario-keyed
  tables too (var `scenario_tables`, which orchestration/scenarios.py passes: its REFERENCE_TABLES)
  and raw.scenario_active. Dropping an external table leaves its files.
  DuckDB reads its own tables: nothing to do.
#}
{% macro register_lake_sources() -%}
    {{ return(adapter.dispatch('register_lake_sources', 'meterline')()) }}
{%- endmacro %}

{% macro default__register_lake_sources() -%}{%- endmacro %}

{% macro spark__register_lake_sources() -%}
    {%- if execute -%}
        {%- set lake = env_var('METERLINE_LAKE_DIR') -%}
        {%- set tables = [] -%}
        {%- for node in graph.sources.values() -%}
            {%- do tables.append((node.schema, node.identifier)) -%}
        {%- endfor -%}
        {%- if var('scenario_mode', false) -%}
            {%- for table in var('scenario_tables', []) + ['active'] -%}
                {%- do tables.append(('raw', 'scenario_' ~ table)) -%}
            {%- endfor -%}
        {%- endif -%}
        {%- for schema in tables | map(attribute=0) | unique | sort -%}
            {%- do run_query('create database if not exists ' ~ schema) -%}
        {%- endfor -%}
        {%- for schema, table in tables | unique | sort -%}
            {%- do run_query('drop table if exists ' ~ schema ~ '.' ~ table) -%}
            {%- do run_query("create table " ~ schema ~ "." ~ table ~ " using parquet location '" ~ lake ~ "/" ~ schema ~ "/" ~ table ~ "'") -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
