{#
  METERLINE_ENGINE=spark (issue 21): the raw and ledger tables are Parquet copies written by
  orchestration/lake.py under METERLINE_LAKE_DIR/<schema>/<table>/. Before a run, each source
  the selected nodes read is (re)registered as an external Parquet table of that folder, so
  source() and the scenario macros read them as on DuckDB; every source of the project when the
  selection reads none (run-operation, unit tests). A source no selected node reads stays as an
  earlier invocation registered it (the main build registers all it reads). In scenario mode
  (pricing lab) the scenario-keyed tables too (var `scenario_tables`, which
  orchestration/scenarios.py passes: its REFERENCE_TABLES) and raw.scenario_active. Dropping an
  external table leaves its files.
  (Registering all 37 sources took ~14 s of each Spark invocation; a re-rating reads 2.)
  DuckDB reads its own tables: nothing to do.
#}
{% macro register_lake_sources() -%}
    {{ return(adapter.dispatch('register_lake_sources', 'meterline')()) }}
{%- endmacro %}

{% macro default__register_lake_sources() -%}{%- endmacro %}

{% macro spark__register_lake_sources() -%}
    {%- if execute -%}
        {#- the sources the selected nodes read (a source selected itself counts) -#}
        {%- set read = [] -%}
        {%- for uid in selected_resources -%}
            {%- if uid in graph.nodes -%}
                {%- set depends_on = graph.nodes[uid].depends_on.nodes -%}
                {%- do read.extend(depends_on | select('in', graph.sources)) -%}
            {%- elif uid in graph.sources -%}
                {%- do read.append(uid) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set tables = [] -%}
        {%- for uid, node in graph.sources.items() if uid in read or not read -%}
            {%- do tables.append((node.schema, node.identifier)) -%}
        {%- endfor -%}
        {%- if var('scenario_mode', false) -%}
            {%- for table in var('scenario_tables', []) + ['active'] -%}
                {%- do tables.append(('raw', 'scenario_' ~ table)) -%}
            {%- endfor -%}
        {%- endif -%}
        {%- do register_lake_tables(tables) -%}
    {%- endif -%}
{%- endmacro %}

{#
  (Re)register each [schema, table] of `tables` as an external Parquet table of
  METERLINE_LAKE_DIR/<schema>/<table>/ (Spark). register_lake_sources calls it; the pricing lab
  on Spark calls it as a run-operation for the tables its compiled chain reads
  (orchestration/scenarios.py), after writing their files.
#}
{% macro register_lake_tables(tables) -%}
    {%- set lake = env_var('METERLINE_LAKE_DIR') -%}
    {%- set names = [] -%}
    {%- for schema, table in tables -%}
        {%- do names.append(schema ~ '.' ~ table) -%}
    {%- endfor -%}
    {%- for schema in tables | map(attribute=0) | unique | sort -%}
        {%- do run_query('create database if not exists ' ~ schema) -%}
    {%- endfor -%}
    {%- for name in names | unique | sort -%}
        {%- set location = lake ~ '/' ~ name.replace('.', '/') -%}
        {%- do run_query('drop table if exists ' ~ name) -%}
        {%- do run_query('create table ' ~ name ~ " using parquet location '" ~ location ~ "'") -%}
    {%- endfor -%}
{%- endmacro %}
